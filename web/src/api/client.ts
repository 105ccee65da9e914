// The one door to the portal's HTTP API. Every call goes to a relative /api URL on the page's own
// origin (the server serves the API beside the front-end), and every failure comes back as an
// ApiError carrying the HTTP status, the server's message, and — for 422 validation errors in
// FastAPI's shape — one message per field, keyed by the last element of each error's `loc`.
// The browser's session cookie (HttpOnly, so this code never sees it) goes with every call; a 401
// from any call but the sign-in itself tells the listeners of onUnauthenticated, and the app
// then shows the login page.

export const API_BASE = "/api";

export type FieldErrors = Record<string, string>;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fieldErrors: FieldErrors = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

type ValidationItem = { loc?: unknown[]; msg?: string };

// Turns a response body into an ApiError. `detail` is a string, or a list of validation items
// whose messages are gathered per field (a second message for the same field is appended).
export function errorFromBody(status: number, body: unknown, fallback: string): ApiError {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return new ApiError(status, detail);
  if (Array.isArray(detail)) {
    const fields: FieldErrors = {};
    const general: string[] = [];
    for (const item of detail as ValidationItem[]) {
      const msg = item?.msg ?? "invalid";
      const loc = Array.isArray(item?.loc) ? item.loc : [];
      const field = loc.length > 0 ? String(loc[loc.length - 1]) : "";
      if (field && field !== "body") fields[field] = fields[field] ? `${fields[field]}; ${msg}` : msg;
      else general.push(msg);
    }
    const summary = general.length
      ? general.join("; ")
      : `Please correct ${Object.keys(fields).join(", ")}`;
    return new ApiError(status, summary, fields);
  }
  return new ApiError(status, fallback);
}

const unauthenticated = new Set<() => void>();

// Calls `listener` whenever the server answers 401 (the session ended or was revoked). Returns
// the function that stops it.
export function onUnauthenticated(listener: () => void): () => void {
  unauthenticated.add(listener);
  return () => unauthenticated.delete(listener);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function buildUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return `${API_BASE}${path}${qs ? `?${qs}` : ""}`;
}

export interface ApiResponse<T> {
  data: T;
  headers: Headers;
}

// Sends one request. Resolves with the parsed JSON body (null for an empty body); rejects with an
// ApiError for any non-2xx status or a network failure (status 0).
export async function request<T>(
  method: string,
  path: string,
  options: { query?: Query; body?: unknown; signal?: AbortSignal } = {},
): Promise<ApiResponse<T>> {
  const url = buildUrl(path, options.query);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: options.body === undefined ? undefined : { "Content-Type": "application/json" },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (err) {
    if ((err as Error)?.name === "AbortError") throw err;
    throw new ApiError(0, `Cannot reach the server (${method} ${url}): ${(err as Error).message}`);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (response.status === 401 && path !== "/auth/login") unauthenticated.forEach((l) => l());
  if (!response.ok) {
    throw errorFromBody(
      response.status,
      body,
      `${method} ${url} failed: ${response.status} ${typeof body === "string" ? body : response.statusText}`,
    );
  }
  return { data: body as T, headers: response.headers };
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) =>
    request<T>("GET", path, { query, signal }).then((r) => r.data),
  post: <T>(path: string, body?: unknown, query?: Query) =>
    request<T>("POST", path, { body: body ?? {}, query }).then((r) => r.data),
  put: <T>(path: string, body: unknown) => request<T>("PUT", path, { body }).then((r) => r.data),
  patch: <T>(path: string, body: unknown) => request<T>("PATCH", path, { body }).then((r) => r.data),
  del: <T>(path: string, query?: Query, body?: unknown) =>
    request<T>("DELETE", path, { query, body }).then((r) => r.data),
};

export interface Page<T> {
  rows: T[];
  total: number | null;
}

// A listing that reports its total in X-Total-Count. When the header is missing the total is
// unknown (null) and the pager offers "next" while full pages keep coming.
export async function listPage<T>(path: string, query: Query, signal?: AbortSignal): Promise<Page<T>> {
  const { data, headers } = await request<T[] | { rows?: T[]; total?: number }>("GET", path, {
    query,
    signal,
  });
  const header = headers.get("X-Total-Count");
  if (Array.isArray(data)) {
    return { rows: data, total: header !== null && header !== "" ? Number(header) : null };
  }
  const rows = (data?.rows ?? []) as T[];
  const total = header !== null && header !== "" ? Number(header) : (data?.total ?? null);
  return { rows, total };
}
