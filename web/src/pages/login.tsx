// The sign-in page: shown for /login, and in place of any page while nobody is signed in. After
// signing in it goes to the page that was asked for (?next=), or home.
import { useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useAuth } from "../lib/auth";
import { navigate } from "../lib/router";
import { ErrorNote } from "../components/ErrorNote";

// Only a path of this site: never an absolute URL someone put in the link.
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/login")) return "/";
  return next;
}

export function LoginPage({ next }: { next: string | null }) {
  const { signIn } = useAuth();
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await signIn(user.trim(), password);
      navigate(safeNext(next), true);
    } catch (err) {
      setPassword("");
      if (err instanceof ApiError && err.status === 429) setError(err.message);
      else if (err instanceof ApiError && err.status === 401) setError("Invalid user name or password.");
      else setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="login" aria-labelledby="login-title">
      <form className="card login-form" onSubmit={submit} aria-label="Sign in">
        <h1 id="login-title">Sign in to MigsbyU</h1>
        <div className="field">
          <label htmlFor="login-user">User name</label>
          <input id="login-user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} required autoFocus />
        </div>
        <div className="field">
          <label htmlFor="login-password">Password</label>
          <input id="login-password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </div>
        <ErrorNote message={error} />
        <div className="form-actions">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </div>
        <p className="muted small">
          The first start printed the admin&apos;s password; <code>migsbyu user passwd admin</code> sets a new one.
        </p>
      </form>
    </section>
  );
}
