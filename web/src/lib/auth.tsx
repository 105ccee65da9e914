// Who is signed in, and what their role lets them do. AuthProvider asks GET /auth/me once, signs
// in and out, and goes back to "signed out" whenever any API call answers 401 (the session ended,
// was revoked, or the user was disabled), which makes the app show the login page.
//
// Hiding a control is a courtesy, not the protection: the server refuses (403) whatever a role
// may not do. `can` reads the permissions the server sends with the user, so the UI and the
// route table never disagree about a role.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, onUnauthenticated } from "../api/client";
import type { Role } from "./session";

export type Permission = "public" | "read" | "write" | "console" | "admin";

export interface Me {
  user: string;
  role: Role;
  pii: boolean; // sees address and date of birth; without it they read "***"
  permissions: Permission[];
  via: "session" | "token" | "open"; // open: the server runs with --no-auth
}

export interface AuthState {
  status: "loading" | "signed-in" | "signed-out";
  me: Me | null;
  can: (permission: Permission) => boolean;
  signIn: (user: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
}

const nothing = async () => {};
// Outside a provider nobody is signed in and nothing is allowed.
const AuthContext = createContext<AuthState>({ status: "signed-out", me: null, can: () => false, signIn: nothing, signOut: nothing });

export function AuthProvider({ children, initial }: { children: ReactNode; initial?: Me }) {
  const [me, setMe] = useState<Me | null>(initial ?? null);
  const [status, setStatus] = useState<AuthState["status"]>(initial ? "signed-in" : "loading");

  useEffect(() => {
    if (initial) return;
    let live = true;
    api
      .get<Me>("/auth/me")
      .then((m) => {
        if (!live) return;
        setMe(m);
        setStatus("signed-in");
      })
      .catch(() => live && setStatus("signed-out"));
    return () => {
      live = false;
    };
  }, [initial]);

  useEffect(
    () =>
      onUnauthenticated(() => {
        setMe(null);
        setStatus("signed-out");
      }),
    [],
  );

  const signIn = useCallback(async (user: string, password: string) => {
    const m = await api.post<Me>("/auth/login", { user, password });
    setMe(m);
    setStatus("signed-in");
  }, []);

  const signOut = useCallback(async () => {
    try {
      await api.post("/auth/logout");
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
    }
    setMe(null);
    setStatus("signed-out");
  }, []);

  const value = useMemo<AuthState>(
    () => ({ status, me, can: (p) => !!me?.permissions.includes(p), signIn, signOut }),
    [status, me, signIn, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  return useContext(AuthContext);
}

// The permissions of each role, as the server's /auth/me reports them (for tests and stories).
export const ROLE_PERMISSIONS: Record<Me["role"], Permission[]> = {
  viewer: ["public", "read"],
  analyst: ["public", "read", "console"],
  registrar: ["public", "read", "write"],
  admin: ["public", "read", "write", "console", "admin"],
};
