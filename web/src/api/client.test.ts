import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, buildUrl, errorFromBody, listPage, onUnauthenticated, request } from "./client";
import { mockFetch } from "../test-utils";

afterEach(() => vi.unstubAllGlobals());

describe("errorFromBody", () => {
  it("keys FastAPI validation messages by the last element of loc", () => {
    const err = errorFromBody(422, {
      detail: [
        { loc: ["body", "gpa"], msg: "must be between 0 and 4", type: "value_error" },
        { loc: ["body", "date_of_birth"], msg: "expected YYYY-MM-DD", type: "value_error" },
      ],
    }, "fallback");
    expect(err.status).toBe(422);
    expect(err.fieldErrors).toEqual({ gpa: "must be between 0 and 4", date_of_birth: "expected YYYY-MM-DD" });
    expect(err.message).toContain("gpa");
  });

  it("joins two messages for the same field and keeps body-level ones general", () => {
    const err = errorFromBody(422, {
      detail: [
        { loc: ["body", "units"], msg: "too small" },
        { loc: ["body", "units"], msg: "not an integer" },
        { loc: ["body"], msg: "body is not a JSON object" },
      ],
    }, "fallback");
    expect(err.fieldErrors).toEqual({ units: "too small; not an integer" });
    expect(err.message).toBe("body is not a JSON object");
  });

  it("uses a string detail as the message, and the fallback when there is none", () => {
    expect(errorFromBody(409, { detail: "student S1 is referred to by 2 enrollments" }, "x").message).toBe(
      "student S1 is referred to by 2 enrollments",
    );
    expect(errorFromBody(500, "oops", "POST /x failed").message).toBe("POST /x failed");
  });
});

describe("buildUrl", () => {
  it("prefixes /api and leaves out empty parameters", () => {
    expect(buildUrl("/students/", { skip: 0, limit: 50, q: "", sort: undefined, order: null })).toBe("/api/students/?skip=0&limit=50");
    expect(buildUrl("/health")).toBe("/api/health");
  });
});

describe("request", () => {
  it("reads the total from X-Total-Count", async () => {
    mockFetch(() => ({ body: [{ id: "A" }], headers: { "X-Total-Count": "1234" } }));
    const page = await listPage("/students/", { skip: 0, limit: 1 });
    expect(page).toEqual({ rows: [{ id: "A" }], total: 1234 });
  });

  it("reports an unknown total when the header is missing", async () => {
    mockFetch(() => ({ body: [] }));
    expect((await listPage("/students/", {})).total).toBeNull();
  });

  it("rejects with ApiError carrying status and detail", async () => {
    mockFetch(() => ({ status: 404, body: { detail: "Student ZZ not found" } }));
    const err = await request("GET", "/students/ZZ").catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(404);
    expect(err.message).toBe("Student ZZ not found");
  });

  it("turns a network failure into an ApiError with status 0 naming the URL", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => {
      throw new TypeError("Failed to fetch");
    }));
    const err = await request("GET", "/health").catch((e) => e);
    expect(err.status).toBe(0);
    expect(err.message).toContain("/api/health");
  });
});

describe("401 answers", () => {
  it("tell the listeners, except for the sign-in itself", async () => {
    mockFetch(() => ({ status: 401, body: { detail: "Not signed in" } }));
    const heard = vi.fn();
    const stop = onUnauthenticated(heard);
    await expect(api.get("/students/")).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledTimes(1);
    await expect(api.post("/auth/login", { user: "x", password: "y" })).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledTimes(1);
    stop();
    await expect(api.get("/students/")).rejects.toMatchObject({ status: 401 });
    expect(heard).toHaveBeenCalledTimes(1);
  });
});
