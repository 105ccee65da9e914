// The application shell: header navigation and the page for the current path.
//   /                        Home
//   /operational/<tab>       students | professors | courses | enrollments | assignments
//   /analytics/<tab>         students | professors | courses | history | as-of | fact | charts | sql
//   /pipeline                live pipeline status
//   /audit                   the audit trail: who changed what (admins; see lib/session.tsx)
import { lazy, Suspense, useEffect } from "react";
import { LiveProvider } from "./lib/live";
import { Link, useLocation } from "./lib/router";
import { kNoSignIn, seesAdminPages, SessionContext, type Session } from "./lib/session";
import { HomePage } from "./pages/home";

// Pages load on first visit: the home page needs neither the grids nor the chart library.
const OperationalPage = lazy(() => import("./pages/operational").then((m) => ({ default: m.OperationalPage })));
const AnalyticsPage = lazy(() => import("./pages/analytics").then((m) => ({ default: m.AnalyticsPage })));
const PipelinePage = lazy(() => import("./pages/pipeline").then((m) => ({ default: m.PipelinePage })));
const AuditPage = lazy(() => import("./pages/audit").then((m) => ({ default: m.AuditPage })));

const NAV = [
  { href: "/", label: "Home", match: "" },
  { href: "/operational/students", label: "Operational", match: "operational" },
  { href: "/analytics/students", label: "Analytics", match: "analytics" },
  { href: "/pipeline", label: "Pipeline", match: "pipeline" },
  { href: "/audit", label: "Audit", match: "audit", admin: true },
];

// `session`: who signs in, from the sign-in flow; without it the portal runs without sign-in.
export function App({ session = kNoSignIn }: { session?: Session } = {}) {
  const loc = useLocation();
  const [section = "", tab = ""] = loc.segments;
  const nav = NAV.filter((n) => !n.admin || seesAdminPages(session));
  useEffect(() => {
    const label = NAV.find((n) => n.match === section)?.label;
    document.title = label && section ? `${label} · MigsbyU` : "MigsbyU";
  }, [section]);

  let page;
  if (section === "operational") page = <OperationalPage tab={tab} />;
  else if (section === "analytics") page = <AnalyticsPage tab={tab} />;
  else if (section === "pipeline") page = <PipelinePage />;
  else if (section === "audit") page = <AuditPage />;
  else if (section === "") page = <HomePage />;
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
          <nav aria-label="Main">
            {nav.map((n) => (
              <Link key={n.href} href={n.href} className={n.match === section ? "nav-link active" : "nav-link"} aria-current={n.match === section ? "page" : undefined}>
                {n.label}
              </Link>
            ))}
          </nav>
        </header>
        <main id="main">
          <Suspense fallback={<p className="muted">Loading…</p>}>{page}</Suspense>
        </main>
      </LiveProvider>
    </SessionContext.Provider>
  );
}
