import { afterEach, describe, expect, it, vi } from "vitest";
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import { meAs, mockFetch, type Call, type Reply } from "./test-utils";

// The browser's EventSource, as far as the app uses it.
class StubEventSource {
  static opened: string[] = [];
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    StubEventSource.opened.push(url);
  }
  addEventListener() {}
  close() {}
}

const unauthorized: Reply = { status: 401, body: { detail: "Not signed in" } };

// A server that answers /auth/me with `me` (or 401), and `more` for the rest.
function server(me: ReturnType<typeof meAs> | null, more?: (call: Call) => Reply | undefined) {
  return mockFetch((call) => {
    if (call.url.pathname === "/api/auth/me") return me ? { body: me } : unauthorized;
    return more?.(call) ?? (call.url.pathname === "/api/students/" ? { body: [], headers: { "X-Total-Count": "0" } } : { body: { running: false } });
  });
}

afterEach(() => {
  vi.unstubAllGlobals();
  StubEventSource.opened = [];
});

describe("App", () => {
  it("renders the home page with the real EventSource path and navigates without reloading", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    server(meAs("admin"));
    window.history.replaceState(null, "", "/");
    const user = userEvent.setup();
    render(<App />);
    expect(await screen.findByRole("heading", { level: 1, name: "MigsbyU" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Operational schema" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Analytics schema" })).toBeTruthy();
    // The live stream opens in an effect, which may run just after the first paint.
    await waitFor(() => expect(StubEventSource.opened).toEqual(["/api/analytics/events"]));

    await user.click(screen.getByRole("link", { name: "Operational" }));
    expect(window.location.pathname).toBe("/operational/students");
    expect(await screen.findByRole("heading", { name: "Operational database" }, { timeout: 15_000 })).toBeTruthy();
    expect(await screen.findByRole("table", { name: "students" })).toBeTruthy();
    await act(async () => {});
  });

  it("says so for an unknown path", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    server(meAs("viewer"));
    window.history.replaceState(null, "", "/nowhere");
    render(<App />);
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeTruthy();
  });
});

describe("Signing in", () => {
  it("shows the login page when nobody is signed in, then the page asked for", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    let signedIn = false;
    const calls = mockFetch((call) => {
      if (call.url.pathname === "/api/auth/me") return signedIn ? { body: meAs("registrar", "ada") } : unauthorized;
      if (call.url.pathname === "/api/auth/login") {
        signedIn = true;
        return { body: { ...meAs("registrar", "ada"), expires_at: "2026-12-02T08:00:00Z", idle_timeout_seconds: 1800 } };
      }
      if (call.url.pathname === "/api/students/") return { body: [], headers: { "X-Total-Count": "0" } };
      return { body: { running: false } };
    });
    window.history.replaceState(null, "", "/operational/students");
    const user = userEvent.setup();
    render(<App />);
    expect(await screen.findByRole("heading", { name: "Sign in to MigsbyU" })).toBeTruthy();
    expect(window.location.pathname).toBe("/login");
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/operational/students");
    expect(StubEventSource.opened).toEqual([]); // nothing live before signing in

    await user.type(screen.getByLabelText("User name"), "ada");
    await user.type(screen.getByLabelText("Password"), "ada's password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect(await screen.findByRole("heading", { name: "Operational database" }, { timeout: 15_000 })).toBeTruthy();
    expect(window.location.pathname).toBe("/operational/students");
    expect(calls.find((c) => c.url.pathname === "/api/auth/login")?.body).toEqual({ user: "ada", password: "ada's password" });
    const who = screen.getByLabelText("Signed in as");
    expect(who.textContent).toContain("ada");
    expect(who.textContent).toContain("registrar");
  });

  it("signs out back to the login page", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    const calls = server(meAs("viewer", "vic"), (call) => (call.url.pathname === "/api/auth/logout" ? { body: { ok: true } } : undefined));
    window.history.replaceState(null, "", "/");
    const user = userEvent.setup();
    render(<App />);
    await user.click(await screen.findByRole("button", { name: "Sign out" }));
    expect(await screen.findByRole("heading", { name: "Sign in to MigsbyU" })).toBeTruthy();
    expect(calls.some((c) => c.method === "POST" && c.url.pathname === "/api/auth/logout")).toBe(true);
  });

  it("goes to the login page when any call answers 401", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    let expired = false;
    server(meAs("admin"), (call) => {
      if (call.url.pathname === "/api/students/") return expired ? unauthorized : { body: [], headers: { "X-Total-Count": "0" } };
      return undefined;
    });
    window.history.replaceState(null, "", "/");
    const user = userEvent.setup();
    render(<App />);
    await screen.findByRole("heading", { level: 1, name: "MigsbyU" });
    expired = true; // the session ends while the page is open
    await user.click(screen.getByRole("link", { name: "Operational" }));
    expect(await screen.findByRole("heading", { name: "Sign in to MigsbyU" }, { timeout: 15_000 })).toBeTruthy();
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(new URLSearchParams(window.location.search).get("next")).toBe("/operational/students");
  });

  it("offers each role only what it may use", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    for (const [role, admin] of [["viewer", false], ["analyst", false], ["registrar", false], ["admin", true]] as const) {
      server(meAs(role));
      window.history.replaceState(null, "", "/");
      const { unmount } = render(<App />);
      await screen.findByRole("heading", { level: 1, name: "MigsbyU" });
      expect(!!screen.queryByRole("link", { name: "Admin" })).toBe(admin);
      unmount();
    }
  });

  it("under --no-auth shows the local user and no sign-out", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    server({ ...meAs("admin", "local"), via: "open" });
    window.history.replaceState(null, "", "/");
    render(<App />);
    await screen.findByRole("heading", { level: 1, name: "MigsbyU" });
    expect(screen.getByLabelText("Signed in as").textContent).toContain("sign-in off");
    expect(screen.queryByRole("button", { name: "Sign out" })).toBeNull();
  });
});
