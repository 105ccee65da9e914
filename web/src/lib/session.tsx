// Who is using the UI, as far as the pages need to know: the signed-in user and role, or that the
// portal runs without sign-in (every route open to everyone). The sign-in flow provides it
// through <SessionContext.Provider> (App takes it as a prop); pages read it with useSession().
import { createContext, useContext } from "react";

export type Role = "viewer" | "analyst" | "registrar" | "admin";

export interface Session {
  // False when the portal runs without sign-in: the API admits everyone, so every page shows.
  signInRequired: boolean;
  user: string | null;
  role: Role | null;
}

export const kNoSignIn: Session = { signInRequired: false, user: null, role: null };

export const SessionContext = createContext<Session>(kNoSignIn);

export function useSession(): Session {
  return useContext(SessionContext);
}

// Whether the admins' pages (the audit trail) are for this session: the API refuses them to
// anyone else, so the UI does not offer them.
export function seesAdminPages(session: Session): boolean {
  return !session.signInRequired || session.role === "admin";
}
