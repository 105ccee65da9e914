// The application shell: who is signed in, the header navigation and the page for the current
// path. Nobody signed in (or any API call answering 401): the login page, whatever the path.
//   /                        Home
//   /login?next=<path>       Sign in
//   /operational/<tab>       students | professors | courses | enrollments | assignments
//   /analytics/<tab>         students | professors | courses | history | as-of | snapshots | fact | charts | sql
//   /pipeline                live pipeline status
//   /audit                   the audit trail: who changed what (admins; see lib/session.tsx)
//   /admin/<tab>             users | tokens | sessions (admins only)
import { lazy, Suspense, useEffect, useMemo, type ReactNode } from "react";
import { AuthProvider, useAuth, type Permission } from "./lib/auth";
import { LiveProvider } from "./lib/live";
import { Link, navigate, useLocation } from "./lib/router";
import { seesAdminPages, SessionContext, sessionOf, type Session } from "./lib/session";
import { HomePage } from "./pages/home";
import { LoginPage, safeNext } from "./pages/login";

// Pages load on first visit: the home page needs neither the grids nor the chart library.
const OperationalPage = lazy(() => import("./pages/operational").then((m) => ({ default: m.OperationalPage })));
const AnalyticsPage = lazy(() => import("./pages/analytics").then((m) => ({ default: m.AnalyticsPage })));
const PipelinePage = lazy(() => import("./pages/pipeline").then((m) => ({ default: m.PipelinePage })));
const AdminPage = lazy(() => import("./pages/admin").then((m) => ({ default: m.AdminPage })));
const AuditPage = lazy(() => import("./pages/audit").then((m) => ({ default: m.AuditPage })));

const NAV: { href: string; label: string; match: string; needs?: Permission; shown?: (s: Session) => boolean }[] = [
  { href: "/", label: "Home", match: "" },
  { href: "/operational/students", label: "Operational", match: "operational" },
  { href: "/analytics/students", label: "Analytics", match: "analytics" },
  { href: "/pipeline", label: "Pipeline", match: "pipeline" },
  { href: "/audit", label: "Audit", match: "audit", shown: seesAdminPages },
  { href: "/admin/users", label: "Admin", match: "admin", needs: "admin" },
];

export function App() {
  return (
    <AuthProvider>
      <Shell />
    </AuthProvider>
  );
}

function Header({ children }: { children?: ReactNode }) {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <Link href="/" className="brand" aria-label="MigsbyU home">
          <span className="brand-mark" aria-hidden="true">
            M
          </span>
          MigsbyU
        </Link>
        {children}
      </header>
    </>
  );
}

function Shell() {
  const { status, me, can, signOut } = useAuth();
  const session = useMemo(() => sessionOf(me), [me]);
  const loc = useLocation();
  const [section = "", tab = ""] = loc.segments;
  useEffect(() => {
    const label = section === "login" ? "Sign in" : NAV.find((n) => n.match === section)?.label;
    document.title = label && section ? `${label} · MigsbyU` : "MigsbyU";
  }, [section]);
  useEffect(() => {
    if (status === "signed-out" && section !== "login") {
      navigate(`/login?next=${encodeURIComponent(loc.path + window.location.search)}`, true);
    } else if (status === "signed-in" && section === "login") {
      navigate(safeNext(loc.params.get("next")), true);
    }
  }, [status, section, loc.path, loc.params]);

  if (status === "loading") {
    return (
      <>
        <Header />
        <main id="main">
          <p className="muted">Loading…</p>
        </main>
      </>
    );
  }
  if (status === "signed-out" || !me) {
    return (
      <>
        <Header />
        <main id="main">
          <LoginPage next={loc.params.get("next")} />
        </main>
      </>
    );
  }

  let page;
  if (section === "operational") page = <OperationalPage tab={tab} />;
  else if (section === "analytics") page = <AnalyticsPage tab={tab} />;
  else if (section === "pipeline") page = <PipelinePage />;
  else if (section === "audit" && seesAdminPages(session)) page = <AuditPage />;
  else if (section === "admin" && can("admin")) page = <AdminPage tab={tab} />;
  else if (section === "" || section === "login") page = <HomePage />;
  else
    page = (
      <section>
        <h1>Not found</h1>
        <p>
          There is no page at <code>{loc.path}</code>. <Link href="/">Go home</Link>.
        </p>
      </section>
    );

  return (
    <SessionContext.Provider value={session}>
    <LiveProvider>
      <Header>
        <nav aria-label="Main">
          {NAV.filter((n) => (!n.needs || can(n.needs)) && (!n.shown || n.shown(session))).map((n) => (
            <Link key={n.href} href={n.href} className={n.match === section ? "nav-link active" : "nav-link"} aria-current={n.match === section ? "page" : undefined}>
              {n.label}
            </Link>
          ))}
        </nav>
        <div className="signed-in-as" aria-label="Signed in as">
          <span className="who-name">{me.user}</span> <span className="badge">{me.role}</span>
          {!me.pii && <span className="muted small"> personal data masked</span>}
          {me.via === "open" ? (
            <span className="muted small"> · sign-in off (--no-auth)</span>
          ) : (
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          )}
        </div>
      </Header>
      <main id="main">
        <Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense>
      </main>
    </LiveProvider>
    </SessionContext.Provider>
  );
}
