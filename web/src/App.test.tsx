import { afterEach, describe, expect, it, vi } from "vitest";
import { act, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { App } from "./App";
import { mockFetch } from "./test-utils";

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

afterEach(() => vi.unstubAllGlobals());

describe("App", () => {
  it("renders the home page with the real EventSource path and navigates without reloading", async () => {
    vi.stubGlobal("EventSource", StubEventSource);
    mockFetch((call) => (call.url.pathname === "/api/students/" ? { body: [], headers: { "X-Total-Count": "0" } } : { body: { running: false } }));
    window.history.replaceState(null, "", "/");
    const user = userEvent.setup();
    render(<App />);
    expect(screen.getByRole("heading", { level: 1, name: "MigsbyU" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Operational schema" })).toBeTruthy();
    expect(screen.getByRole("img", { name: "Analytics schema" })).toBeTruthy();
    expect(StubEventSource.opened).toEqual(["/api/analytics/events"]);

    await user.click(screen.getByRole("link", { name: "Operational" }));
    expect(window.location.pathname).toBe("/operational/students");
    expect(await screen.findByRole("heading", { name: "Operational database" }, { timeout: 15_000 })).toBeTruthy();
    expect(await screen.findByRole("table", { name: "students" })).toBeTruthy();
    await act(async () => {});
  });

  it("says so for an unknown path", () => {
    vi.stubGlobal("EventSource", StubEventSource);
    window.history.replaceState(null, "", "/nowhere");
    render(<App />);
    expect(screen.getByRole("heading", { name: "Not found" })).toBeTruthy();
  });
});
