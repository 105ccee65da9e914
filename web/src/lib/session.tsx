// Who is using the UI, as far as the pages need to know: the signed-in user and role, or that the
// portal runs without sign-in (every route open to everyone). App derives it from the signed-in
// user (lib/auth.tsx, sessionOf) and provides it through <SessionContext.Provider>; pages read it
// with useSession().
import { createContext, useContext } from "react";
import type { Me } from "./auth";

export type Role = "viewer" | "analyst" | "registrar" | "admin";

export interface Session {
  // False when the portal runs without sign-in: the API admits everyone, so every page shows.
  signInRequired: boolean;
  user: string | null;
  role: Role | null;
}

export const kNoSignIn: Session = { signInRequired: false, user: null, role: null };

// The session of the signed-in user `me` (null: nobody is signed in yet). A server started with
// --no-auth reports its user as signed in "open": no sign-in is required.
export function sessionOf(me: Me | null): Session {
  if (!me) return { signInRequired: true, user: null, role: null };
  if (me.via === "open") return { signInRequired: false, user: me.user, role: me.role };
  return { signInRequired: true, user: me.user, role: me.role };
}

export const SessionContext = createContext<Session>(kNoSignIn);

export function useSession(): Session {
  return useContext(SessionContext);
}

// Whether the admins' pages (the audit trail) are for this session: the API refuses them to
// anyone else, so the UI does not offer them.
export function seesAdminPages(session: Session): boolean {
  return !session.signInRequired || session.role === "admin";
}
