import { afterEach, describe, expect, it, vi } from "vitest";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AuthProvider } from "../lib/auth";
import { meAs, mockFetch } from "../test-utils";
import { LoginPage, safeNext } from "./login";

afterEach(() => vi.unstubAllGlobals());

function renderLogin() {
  // Signed in already as someone, so the provider does not ask /auth/me; the form signs in anew.
  return render(
    <AuthProvider initial={meAs("viewer")}>
      <LoginPage next="/analytics/students" />
    </AuthProvider>,
  );
}

describe("LoginPage", () => {
  it("says a wrong user or password the same way and clears the password", async () => {
    mockFetch((call) => (call.url.pathname === "/api/auth/login" ? { status: 401, body: { detail: "Invalid user name or password" } } : undefined));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("User name"), "nobody");
    await user.type(screen.getByLabelText("Password"), "guess");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Invalid user name or password.");
    expect((screen.getByLabelText("Password") as HTMLInputElement).value).toBe("");
  });

  it("shows the server's rate-limit message", async () => {
    mockFetch(() => ({ status: 429, body: { detail: "Too many sign-in attempts; try again in 540 seconds" } }));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("User name"), "ada");
    await user.type(screen.getByLabelText("Password"), "x");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    expect((await screen.findByRole("alert")).textContent).toContain("try again in 540 seconds");
  });

  it("goes to the page asked for after signing in", async () => {
    window.history.replaceState(null, "", "/login?next=%2Fanalytics%2Fstudents");
    mockFetch(() => ({ body: meAs("analyst", "ana") }));
    const user = userEvent.setup();
    renderLogin();
    await user.type(screen.getByLabelText("User name"), "ana");
    await user.type(screen.getByLabelText("Password"), "ana's password");
    await user.click(screen.getByRole("button", { name: "Sign in" }));
    await vi.waitFor(() => expect(window.location.pathname).toBe("/analytics/students"));
  });

  it("follows only paths of this site", () => {
    expect(safeNext("/operational/students?x=1")).toBe("/operational/students?x=1");
    for (const bad of [null, "", "https://evil.example/", "//evil.example/x", "javascript:alert(1)", "/login?next=/x"]) {
      expect(safeNext(bad)).toBe("/");
    }
  });
});
