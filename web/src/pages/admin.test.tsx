import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { renderAs } from "../test-render";
import { meAs, mockFetch } from "../test-utils";
import { AdminPage, type Token, type User } from "./admin";

afterEach(() => vi.unstubAllGlobals());

const user = (name: string, role: User["role"], pii: boolean, disabled = false): User => ({ name, role, pii, disabled, created_at: "2026-12-01T10:00:00Z" });

describe("Admin: users", () => {
  it("adds a user with the role's pii default and changes role, pii and state", async () => {
    let users = [user("admin", "admin", true), user("ada", "registrar", true)];
    const calls = mockFetch((call) => {
      const path = call.url.pathname;
      if (path === "/api/auth/users" && call.method === "GET") return { body: users };
      if (path === "/api/auth/users" && call.method === "POST") {
        const b = call.body as User & { password: string };
        users = [...users, user(b.name, b.role, b.pii)];
        return { body: user(b.name, b.role, b.pii) };
      }
      if (path.startsWith("/api/auth/users/") && call.method === "PATCH") return { body: users[1] };
      return undefined;
    });
    const ui = userEvent.setup();
    renderAs(<AdminPage tab="users" />);
    await screen.findByText("ada");
    const form = screen.getByRole("form", { name: "Add a user" });
    await ui.type(within(form).getByLabelText("Name"), "vic");
    await ui.selectOptions(within(form).getByLabelText("Role"), "analyst");
    expect((within(form).getByLabelText("Sees personal data") as HTMLInputElement).checked).toBe(false);
    await ui.type(within(form).getByLabelText("Password"), "vic's password");
    await ui.click(within(form).getByRole("button", { name: "Add user" }));
    expect(await screen.findByText("Added vic.")).toBeTruthy();
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "vic", role: "analyst", pii: false, password: "vic's password" });

    await ui.selectOptions(screen.getByLabelText("Role of ada"), "viewer");
    await ui.click(screen.getByLabelText("Personal data for ada"));
    await ui.click(screen.getByRole("button", { name: "Disable ada" }));
    const patches = calls.filter((c) => c.method === "PATCH");
    expect(patches.map((c) => c.url.pathname)).toEqual(["/api/auth/users/ada", "/api/auth/users/ada", "/api/auth/users/ada"]);
    expect(patches.map((c) => c.body)).toEqual([{ role: "viewer" }, { pii: false }, { disabled: true }]);
  });

  it("resets a password and shows the server's refusal", async () => {
    const calls = mockFetch((call) => {
      if (call.method === "GET") return { body: [user("root", "admin", true)] };
      if (call.method === "PATCH" && (call.body as { disabled?: boolean }).disabled) {
        return { status: 409, body: { detail: "at least one enabled admin must remain; 'root' is the last" } };
      }
      return { body: user("root", "admin", true) };
    });
    const ui = userEvent.setup();
    renderAs(<AdminPage tab="users" />);
    await ui.click(await screen.findByRole("button", { name: "Reset password of root" }));
    await ui.type(within(screen.getByRole("dialog")).getByLabelText(/at least 10 characters/), "a new long password");
    await ui.click(screen.getByRole("button", { name: "Set password" }));
    expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ password: "a new long password" });
    expect(screen.queryByRole("dialog")).toBeNull();
    await ui.click(screen.getByRole("button", { name: "Disable root" }));
    expect((await screen.findByRole("alert")).textContent).toContain("at least one enabled admin must remain");
  });

  it("is for admins only", () => {
    renderAs(<AdminPage tab="users" />, meAs("registrar"));
    expect(screen.getByText("These pages are for admins only.")).toBeTruthy();
  });
});

describe("Admin: tokens", () => {
  it("shows a new token's secret once and revokes tokens", async () => {
    const token: Token = { id: 7, name: "etl", role: "registrar", pii: true, created_by: "root", created_at: "2026-12-01T10:00:00Z", expires_at: null, revoked_at: null, last_used_at: null };
    let tokens: Token[] = [];
    const calls = mockFetch((call) => {
      if (call.url.pathname === "/api/auth/tokens" && call.method === "GET") return { body: tokens };
      if (call.url.pathname === "/api/auth/tokens" && call.method === "POST") {
        tokens = [token];
        return { body: { ...token, token: "mgt_secretsecretsecretsecretsecretsecretsecr" } };
      }
      if (call.method === "DELETE") {
        tokens = [];
        return { body: { ok: true } };
      }
      return undefined;
    });
    const ui = userEvent.setup();
    renderAs(<AdminPage tab="tokens" />);
    await screen.findByText("No live tokens.");
    const form = screen.getByRole("form", { name: "Create a token" });
    await ui.type(within(form).getByLabelText("Name"), "etl");
    await ui.selectOptions(within(form).getByLabelText("Role"), "registrar");
    await ui.type(within(form).getByLabelText("Expires in (days)"), "30");
    await ui.click(within(form).getByRole("button", { name: "Create token" }));
    const shown = await screen.findByRole("status", { name: "New token" });
    expect(shown.textContent).toContain("mgt_secretsecretsecretsecretsecretsecretsecr");
    expect(shown.textContent).toContain("not shown again");
    expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "etl", role: "registrar", pii: true, expires_in_days: 30 });
    // The list never has it.
    const grid = await screen.findByRole("table", { name: "Tokens" });
    expect(within(grid).getByText("etl")).toBeTruthy();
    expect(grid.textContent).not.toContain("mgt_secret");

    await ui.click(screen.getByRole("button", { name: "Revoke token etl" }));
    expect(await screen.findByText(/Revoked etl/)).toBeTruthy();
    expect(calls.find((c) => c.method === "DELETE")?.url.pathname).toBe("/api/auth/tokens/7");
    expect(screen.queryByRole("status", { name: "New token" })).toBeNull();
  });
});

describe("Admin: sessions", () => {
  it("lists the sessions and ends one", async () => {
    const calls = mockFetch((call) =>
      call.method === "GET"
        ? { body: [{ id: 3, user: "ada", created_at: "2026-12-01T09:00:00Z", last_seen_at: "2026-12-01T09:30:00Z", expires_at: "2026-12-01T21:00:00Z", peer: "10.0.0.7" }] }
        : { body: { ok: true } },
    );
    const ui = userEvent.setup();
    renderAs(<AdminPage tab="sessions" />);
    expect(await screen.findByText("10.0.0.7")).toBeTruthy();
    await ui.click(screen.getByRole("button", { name: "End session 3 of ada" }));
    expect(calls.find((c) => c.method === "DELETE")?.url.pathname).toBe("/api/auth/sessions/3");
    expect(await screen.findByText("Ended session 3 of ada.")).toBeTruthy();
  });
});
