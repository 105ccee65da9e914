// Test support: a scripted fetch. Each call is recorded (method, URL parsed relative to the page,
// JSON body) and answered by `route`, so a test states exactly what the server says.
import { vi } from "vitest";
import { ROLE_PERMISSIONS, type Me } from "./lib/auth";

export interface Call {
  method: string;
  url: URL;
  body: unknown;
}
export interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export function mockFetch(route: (call: Call) => Reply | undefined) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const call: Call = {
      method: (init?.method ?? "GET").toUpperCase(),
      url: new URL(String(input), "http://portal.test"),
      body: init?.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const reply = route(call) ?? { status: 404, body: { detail: `no route for ${call.method} ${call.url.pathname}` } };
    return new Response(reply.body === undefined ? "" : JSON.stringify(reply.body), {
      status: reply.status ?? 200,
      headers: { "Content-Type": "application/json", ...(reply.headers ?? {}) },
    });
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

// A signed-in user of `role` (the permissions /auth/me would report), for rendering pages.
export function meAs(role: Me["role"], user: string = role, pii = role === "admin" || role === "registrar"): Me {
  return { user, role, pii, permissions: ROLE_PERMISSIONS[role], via: "session" };
}
