import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "../App";
import { meAs, mockFetch } from "../test-utils";
import { AuditPage, auditQuery, kNoFilters, recordText } from "./audit";

const change = (over: Record<string, unknown>) => ({
  table: "students",
  op: "u",
  operation: "update",
  commit_time: "2026-11-28T10:00:00.000000Z",
  changed_by: "registrar1",
  origin: "portal",
  lsn: "0/1A2B3C",
  position: 0,
  xid: 731,
  key: { id: "S1" },
  record: "S1",
  before: { id: "S1", gpa: 3.1 },
  after: { id: "S1", gpa: 3.8 },
  changes: [{ field: "gpa", old: 3.1, new: 3.8 }],
  ...over,
});

beforeEach(() => window.history.replaceState(null, "", "/audit"));
afterEach(() => vi.unstubAllGlobals());

describe("Audit page", () => {
  it("lists changes with who made them, the record and what changed", async () => {
    mockFetch((call) => {
      if (call.url.pathname === "/api/analytics/audit")
        return {
          body: [
            change({}),
            change({
              changed_by: null,
              origin: "database",
              op: "d",
              operation: "delete",
              key: { course_id: "PHY101", semester: "Fall 2026", student_id: "S1" },
              record: "S1 / PHY101 / Fall 2026",
              table: "takes",
              changes: [],
            }),
          ],
          headers: { "X-Total-Count": "2" },
        };
      if (call.url.pathname === "/api/analytics/audit/actors") return { body: [{ changed_by: "registrar1", origin: "portal", changes: 1 }] };
      return undefined;
    });
    render(<AuditPage />);
    const table = await screen.findByRole("table", { name: "Audit trail" });
    await waitFor(() => expect(within(table).getAllByTestId("audit-actor")).toHaveLength(2));
    const rows = within(table).getAllByRole("row").slice(1);
    expect(rows[0].textContent).toContain("registrar1");
    expect(rows[0].textContent).toContain("portal");
    expect(rows[0].textContent).toMatch(/Gpa: 3\.1 → 3\.8/);
    expect(rows[1].textContent).toContain("outside MigsbyU");
    expect(rows[1].textContent).toContain("S1 / PHY101 / Fall 2026");
    expect(screen.getByText(/1–2 of 2/)).toBeTruthy();
  });

  it("asks the server for the filtered changes and offers them as the server's CSV", async () => {
    const calls = mockFetch((call) => (call.url.pathname === "/api/analytics/audit" ? { body: [], headers: { "X-Total-Count": "0" } } : { body: [] }));
    const user = userEvent.setup();
    render(<AuditPage />);
    await user.type(screen.getByLabelText("User"), "registrar1");
    await user.selectOptions(screen.getByLabelText("Table"), "students");
    await user.selectOptions(screen.getByLabelText("Origin"), "portal");
    await waitFor(() => {
      const last = calls.filter((c) => c.url.pathname === "/api/analytics/audit").at(-1)!.url.searchParams;
      expect(last.get("user")).toBe("registrar1");
      expect(last.get("table")).toBe("students");
      expect(last.get("origin")).toBe("portal");
    });
    const csv = screen.getByRole("link", { name: "Download CSV" }) as HTMLAnchorElement;
    const url = new URL(csv.href, "http://portal.test");
    expect(url.pathname).toBe("/api/analytics/audit.csv");
    expect(url.searchParams.get("user")).toBe("registrar1");
    expect(url.searchParams.get("table")).toBe("students");
    expect(url.searchParams.get("origin")).toBe("portal");
  });
});

describe("auditQuery", () => {
  it("leaves out empty filters and sends times as ISO instants", () => {
    expect(auditQuery(kNoFilters)).toEqual({
      user: undefined,
      origin: undefined,
      table: undefined,
      op: undefined,
      record: undefined,
      from: undefined,
      to: undefined,
    });
    const q = auditQuery({ ...kNoFilters, user: " ada ", from: "2026-11-28T10:00", to: "not a time" });
    expect(q.user).toBe("ada");
    expect(q.from).toBe(new Date("2026-11-28T10:00").toISOString());
    expect(q.to).toBeUndefined();
  });
});

describe("recordText", () => {
  it("joins the key's values, skipping missing ones", () => {
    expect(recordText({ id: "S1" })).toBe("S1");
    expect(recordText({ student_id: "S1", course_id: "C1", semester: "Fall 2026" })).toBe("S1 / C1 / Fall 2026");
    expect(recordText({ id: null })).toBe("");
    expect(recordText(null)).toBe("");
  });
});

describe("The Audit entry of the navigation", () => {
  class NoEvents {
    readyState = 0;
    onopen = null;
    onerror = null;
    addEventListener() {}
    close() {}
  }
  // The navigation, once /auth/me has answered and the shell shows it.
  const nav = async () => within(await screen.findByRole("navigation", { name: "Main" }));

  // A server whose /auth/me answers `me`; every other call an empty list.
  const serve = (me: ReturnType<typeof meAs>) =>
    mockFetch((call) => (call.url.pathname === "/api/auth/me" ? { body: me } : { body: [] }));

  it("is offered to admins, and when the portal runs without sign-in", async () => {
    vi.stubGlobal("EventSource", NoEvents);
    window.history.replaceState(null, "", "/pipeline");
    serve({ ...meAs("admin", "local"), via: "open" });
    const { unmount } = render(<App />);
    expect((await nav()).getByRole("link", { name: "Audit" })).toBeTruthy();
    unmount();
    serve(meAs("admin", "root"));
    render(<App />);
    expect((await nav()).getByRole("link", { name: "Audit" })).toBeTruthy();
  });

  it("is hidden from every other role, and its page is not served to them", async () => {
    vi.stubGlobal("EventSource", NoEvents);
    for (const role of ["viewer", "analyst", "registrar"] as const) {
      window.history.replaceState(null, "", "/audit");
      serve(meAs(role, "u"));
      const { unmount } = render(<App />);
      const links = await nav();
      expect(links.getByRole("link", { name: "Analytics" })).toBeTruthy();
      expect(links.queryByRole("link", { name: "Audit" })).toBeNull();
      expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
      unmount();
    }
  });
});
