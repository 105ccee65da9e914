import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AnalyticsPage, SqlConsole, Timeline } from "./analytics";
import { freshnessText, PipelinePage, snapshotText } from "./pipeline";
import { LiveProvider } from "../lib/live";
import type { EventSourceLike } from "../lib/sse";
import { renderAs } from "../test-render";
import { meAs, mockFetch } from "../test-utils";

class FakeSource implements EventSourceLike {
  readyState = 1;
  onopen: ((ev: Event) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  listeners = new Map<string, (ev: MessageEvent) => void>();
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    this.listeners.set(type, l);
  }
  close() {}
  emit(type: string, data: unknown) {
    act(() => this.listeners.get(type)?.({ data: JSON.stringify(data) } as MessageEvent));
  }
}

const version = (key: number, gpa: number, current: boolean, start: string, end: string | null) => ({
  student_key: key, id: "S1", first_name: "Ada", last_name: "Lovelace", gpa,
  row_effective_start: start, row_effective_end: end, current_row_indicator: current ? "yes" : "no", is_deleted: false, source_lsn: `0/${key}`,
});

beforeEach(() => window.history.replaceState(null, "", "/analytics/students"));
afterEach(() => vi.unstubAllGlobals());

describe("All dimensions", () => {
  it("lists the dimensions the lake holds, a captured table's too, and pages the one chosen", async () => {
    const dims = [
      { entity: "students", table: "students", view: "students_dim", key_column: "student_key", portal: true, columns: [], versions: 3, current_versions: 2 },
    ];
    const rooms = { entity: "rooms", table: "rooms", view: "rooms_dim", key_column: "rooms_key", portal: false, columns: [], versions: 2, current_versions: 1 };
    const roomRow = (key: number, capacity: number, current: boolean) => ({
      rooms_key: key, building: "North", number: 1, capacity, row_effective_start: "2026-11-25 16:00:00+00", row_effective_end: null, current_row_indicator: current ? "yes" : "no", is_deleted: false,
    });
    const calls = mockFetch((call) => {
      if (call.url.pathname === "/api/analytics/lake-dimensions") return { body: dims };
      if (call.url.pathname === "/api/analytics/dimensions/rooms") return { body: [roomRow(1, 20, false), roomRow(2, 30, true)], headers: { "X-Total-Count": "2" } };
      return undefined;
    });
    const source = new FakeSource();
    window.history.replaceState(null, "", "/analytics/dimensions");
    renderAs(
      <LiveProvider factory={() => source}>
        <AnalyticsPage tab="dimensions" />
      </LiveProvider>,
    );
    await screen.findByText("students_dim");
    expect(screen.queryByText("rooms_dim")).toBeNull();

    // A commit of a dimension the page did not know yet lists it.
    dims.push(rooms);
    source.emit("commit", { lsn: "0/9", tables: ["rooms_changes", "rooms_dim"] });
    await screen.findByText("rooms_dim");
    expect(screen.getByText("rooms (captured table)")).toBeTruthy();

    const row = screen.getByText("rooms_dim").closest("tr")!;
    await userEvent.click(within(row).getByRole("button", { name: "Versions" }));
    await screen.findByRole("table", { name: "rooms_dim versions" });
    const versions = within(screen.getByRole("table", { name: "rooms_dim versions" })).getAllByRole("row").slice(1);
    expect(versions).toHaveLength(2);
    expect(versions[1].className).toContain("current-row");
    expect(calls.some((c) => c.url.pathname === "/api/analytics/dimensions/rooms")).toBe(true);
  });
});

describe("Students dimension", () => {
  it("shows every version, marks the current one, and refreshes on each lake commit", async () => {
    let versions = [version(1, 3.1, true, "2026-11-25 16:00:00+00", null)];
    const calls = mockFetch((call) =>
      call.url.pathname === "/api/analytics/dimensions/students" ? { body: versions, headers: { "X-Total-Count": String(versions.length) } } : undefined,
    );
    const source = new FakeSource();
    const factory = vi.fn(() => source);
    renderAs(
      <LiveProvider factory={factory}>
        <AnalyticsPage tab="students" />
      </LiveProvider>,
    );
    await screen.findByText("0/1");
    expect(factory).toHaveBeenCalledWith("/api/analytics/events");

    versions = [version(1, 3.1, false, "2026-11-25 16:00:00+00", "2026-11-25 16:00:05+00"), version(2, 3.8, true, "2026-11-25 16:00:05+00", null)];
    source.emit("commit", { lsn: "0/2" });
    await screen.findByText("0/2");
    const rows = screen.getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0].className).not.toContain("current-row");
    expect(rows[1].className).toContain("current-row");
    expect(within(rows[1]).getByText("yes")).toBeTruthy();
    expect(calls.filter((c) => c.url.pathname === "/api/analytics/dimensions/students")).toHaveLength(2);
  });

  it("filters by id or name with q", async () => {
    const user = userEvent.setup();
    const calls = mockFetch(() => ({ body: [] }));
    renderAs(<AnalyticsPage tab="students" />);
    await user.type(screen.getByLabelText("Filter by id or name"), "Lovelace");
    await waitFor(() => expect(calls.at(-1)!.url.searchParams.get("q")).toBe("Lovelace"));
    await user.click(screen.getByLabelText("Current rows only"));
    await waitFor(() => expect(calls.at(-1)!.url.searchParams.get("current")).toBe("true"));
  });
});

describe("Refresh on lake commits", () => {
  afterEach(() => vi.useRealTimers());

  it("refetches the charts' five aggregates at most once a second, and only for commits that touch them", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    window.history.replaceState(null, "", "/analytics/charts");
    const calls = mockFetch((call) => (call.url.pathname.startsWith("/api/analytics/aggregates/") ? { body: [] } : undefined));
    const aggregates = () => calls.filter((c) => c.url.pathname.startsWith("/api/analytics/aggregates/")).length;
    const source = new FakeSource();
    render(
      <LiveProvider factory={() => source}>
        <AnalyticsPage tab="charts" />
      </LiveProvider>,
    );
    expect(aggregates()).toBe(5);

    // A commit after a quiet second refreshes at once.
    source.emit("commit", { version: 2, tables: ["students_dim", "students_changes"] });
    expect(aggregates()).toBe(10);
    // A stream of commits every 50 ms: folded into one refresh when the second is up.
    for (let v = 3; v < 12; v++) {
      act(() => vi.advanceTimersByTime(50));
      source.emit("commit", { version: v, tables: ["course_enrollment_fact", "takes_changes"] });
    }
    expect(aggregates()).toBe(10);
    act(() => vi.advanceTimersByTime(549));
    expect(aggregates()).toBe(10);
    act(() => vi.advanceTimersByTime(1));
    expect(aggregates()).toBe(15);

    // Commits of views the charts do not read refresh nothing.
    for (let v = 12; v < 20; v++) {
      act(() => vi.advanceTimersByTime(300));
      source.emit("commit", { version: v, tables: ["professors_dim", "teaches_changes"] });
    }
    source.emit("commit", { version: 20, tables: [] });
    act(() => vi.advanceTimersByTime(2000));
    expect(aggregates()).toBe(15);

    // A commit that does not say what it changed may have changed anything.
    source.emit("commit", { version: 21 });
    expect(aggregates()).toBe(20);
  });

  it("refreshes a dimension for its own table only", () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const calls = mockFetch((call) => (call.url.pathname.startsWith("/api/analytics/dimensions/") ? { body: [], headers: { "X-Total-Count": "0" } } : undefined));
    const listings = () => calls.filter((c) => c.url.pathname === "/api/analytics/dimensions/professors").length;
    const source = new FakeSource();
    render(
      <LiveProvider factory={() => source}>
        <AnalyticsPage tab="professors" />
      </LiveProvider>,
    );
    expect(listings()).toBe(1);
    source.emit("commit", { version: 2, tables: ["students_dim"] });
    act(() => vi.advanceTimersByTime(2000));
    expect(listings()).toBe(1);
    source.emit("commit", { version: 3, tables: ["professors_dim"] });
    expect(listings()).toBe(2);
  });
});

describe("History timeline", () => {
  it("lists versions old to new with each change as old → new", () => {
    render(
      <Timeline
        history={{
          entity: "students",
          id: "S1",
          versions: [
            { ...version(1, 3.1, false, "2026-11-25 16:00:00+00", "2026-11-25 16:00:05+00"), changes: [] },
            { ...version(2, 3.8, true, "2026-11-25 16:00:05+00", null), changes: [{ field: "gpa", old: 3.1, new: 3.8 }] },
          ],
        }}
      />,
    );
    const items = within(screen.getByRole("list", { name: "History of students S1" })).getAllByRole("listitem").filter((li) => li.classList.contains("version"));
    expect(items).toHaveLength(2);
    expect(items[0].textContent).toContain("Version 1");
    expect(items[0].textContent).toContain("Lovelace");
    expect(items[1].textContent).toContain("current");
    expect(items[1].textContent).toMatch(/Gpa: 3\.10 → 3\.80/);
  });

  it("says who made each version, and who deleted a deleted one", () => {
    render(
      <Timeline
        history={{
          entity: "students",
          id: "S1",
          versions: [
            { ...version(1, 3.1, false, "2026-11-25 16:00:00+00", "2026-11-25 16:00:05+00"), changed_by: "registrar1", origin: "portal", changes: [] },
            {
              ...version(2, 3.8, false, "2026-11-25 16:00:05+00", "2026-11-25 16:00:09+00"),
              changed_by: null,
              origin: "database",
              is_deleted: true,
              deleted_at: "2026-11-25 16:00:09+00",
              deleted_by: "admin",
              deleted_origin: "portal",
              changes: [{ field: "gpa", old: 3.1, new: 3.8 }],
            },
            { ...version(3, 2.0, true, "2026-11-25 16:00:10+00", null), changed_by: "simulator", origin: "simulator", changes: [] },
          ],
        }}
      />,
    );
    const actors = screen.getAllByTestId("version-actor").map((e) => e.textContent);
    expect(actors).toEqual(["by registrar1portal", "by outside MigsbyUdatabase", "by simulatorsimulator"]);
    expect(screen.getAllByTestId("version-deleted-by").map((e) => e.textContent)).toEqual(["deleted by admin"]);
    // Who made a version is not one of its attributes: the first version's list leaves it out.
    const first = within(screen.getByRole("list", { name: "History of students S1" })).getAllByRole("listitem")[0];
    expect(within(first).queryByText("Changed by")).toBeNull();
    expect(within(first).queryByText("Origin")).toBeNull();
  });

  it("loads the history named in the URL", async () => {
    window.history.replaceState(null, "", "/analytics/history?entity=students&id=S1");
    const calls = mockFetch((call) =>
      call.url.pathname === "/api/analytics/history/students/S1"
        ? { body: { entity: "students", id: "S1", versions: [version(1, 3.1, true, "2026-11-25 16:00:00+00", null)] } }
        : undefined,
    );
    renderAs(<AnalyticsPage tab="history" />);
    await screen.findByText("Version 1");
    expect(calls).toHaveLength(1);
  });
});

describe("As of", () => {
  const setSlider = (slider: HTMLInputElement, value: string) =>
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value")!.set!.call(slider, value);
      slider.dispatchEvent(new Event("input", { bubbles: true }));
    });

  it("asks for the versions in force at the slider's instant", async () => {
    const calls = mockFetch((call) => {
      if (call.url.pathname === "/api/analytics/dimensions/students" && call.url.searchParams.get("as_of")) return { body: [{ id: "S1", gpa: 3.1 }] };
      if (call.url.pathname.startsWith("/api/analytics/dimensions/"))
        return { body: call.url.pathname.endsWith("students") ? [version(1, 3.1, false, "2026-11-25T16:00:00Z", null)] : [version(1, 3.1, false, "2026-11-25T16:30:00Z", null)] };
      return undefined;
    });
    const asOf = () => calls.filter((c) => c.url.searchParams.get("as_of")).at(-1)!.url.searchParams;
    renderAs(<AnalyticsPage tab="as-of" />);
    const slider = (await screen.findByRole("slider", { name: "As of" })) as HTMLInputElement;
    await waitFor(() => expect(slider.disabled).toBe(false));
    const start = Number(slider.dataset.startMs);
    const end = Number(slider.dataset.endMs);
    expect(start).toBe(Date.parse("2026-11-25T16:00:00Z")); // the earliest of the three dimensions
    setSlider(slider, "0");
    await waitFor(() => expect(asOf().get("as_of")).toBe("2026-11-25T16:00:00.000Z"));
    setSlider(slider, "500");
    const mid = new Date(start + Math.round((end - start) / 2)).toISOString();
    await waitFor(() => expect(asOf().get("as_of")).toBe(mid));
    await screen.findByText("3.10");
  });

  it("replays enrollments through the as-of route", async () => {
    const user = userEvent.setup();
    const calls = mockFetch((call) =>
      call.url.pathname === "/api/analytics/as-of/takes" ? { body: [{ student_id: "S1", course_id: "C1", semester: "Fall 2026" }] } : { body: [] },
    );
    window.history.replaceState(null, "", "/analytics/as-of?at=2026-11-25T16:10:00Z");
    renderAs(<AnalyticsPage tab="as-of" />);
    await user.selectOptions(screen.getByLabelText("Table"), "takes");
    await screen.findByText("C1");
    expect(calls.find((c) => c.url.pathname === "/api/analytics/as-of/takes")!.url.searchParams.get("at")).toBe("2026-11-25T16:10:00.000Z");
  });
});

describe("SQL console", () => {
  it("shows the result grid and downloads it as CSV", async () => {
    const user = userEvent.setup();
    const calls = mockFetch(() => ({
      body: { columns: [{ name: "major", type: "VARCHAR" }, { name: "n", type: "BIGINT" }], rows: [["Physics", 3], ["Art, History", 1]], truncated: false, elapsed_ms: 4 },
    }));
    const blobs: Blob[] = [];
    URL.createObjectURL = vi.fn((b: Blob) => (blobs.push(b), "blob:x")) as typeof URL.createObjectURL;
    URL.revokeObjectURL = vi.fn();
    vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    render(<SqlConsole />);
    const box = screen.getByRole("textbox", { name: /^SQL/ });
    await user.clear(box);
    await user.type(box, "SELECT major, count(*) n FROM dim_students GROUP BY 1{Control>}{Enter}{/Control}");
    await screen.findByText("Physics");
    expect(calls[0].body).toEqual({ sql: "SELECT major, count(*) n FROM dim_students GROUP BY 1", limit: 1000 });
    expect(screen.getByRole("status").textContent).toContain("2 rows");
    await user.click(screen.getByRole("button", { name: "Download CSV" }));
    const text = await new Promise<string>((resolve) => {
      const r = new FileReader();
      r.onload = () => resolve(String(r.result));
      r.readAsText(blobs[0]);
    });
    expect(text).toBe('major,n\r\nPhysics,3\r\n"Art, History",1\r\n');
  });

  it("says when the server's size limit cut the answer", async () => {
    const user = userEvent.setup();
    mockFetch(() => ({
      body: { columns: [{ name: "x", type: "VARCHAR" }], rows: [["a"]], truncated: true, truncated_by: "bytes", elapsed_ms: 12.6 },
    }));
    render(<SqlConsole />);
    await user.click(screen.getByRole("button", { name: "Run" }));
    await screen.findByText("a");
    expect(screen.getByRole("status").textContent).toBe("1 rows (cut at the server's size limit for an answer) in 13 ms");
  });

  it("shows the server's refusal clearly", async () => {
    const user = userEvent.setup();
    mockFetch(() => ({ status: 400, body: { detail: "only SELECT statements are allowed: DROP TABLE dim_students" } }));
    render(<SqlConsole />);
    await user.click(screen.getByRole("button", { name: "Run" }));
    expect((await screen.findByRole("alert")).textContent).toBe("only SELECT statements are allowed: DROP TABLE dim_students");
    expect(screen.queryByRole("table")).toBeNull();
  });
});

function renderPipeline(): FakeSource {
  const source = new FakeSource();
  renderAs(
    <LiveProvider factory={() => source}>
      <PipelinePage />
    </LiveProvider>,
  );
  return source;
}

describe("Pipeline", () => {
  it("fills from GET /analytics/status and follows status events", async () => {
    mockFetch((call) =>
      call.url.pathname === "/api/analytics/status"
        ? { body: { slot_lag_bytes: 2048, events_per_second: 12.5, last_committed_lsn: "0/16B3748", tables: { students: 10, courses: 4 } } }
        : undefined,
    );
    const source = renderPipeline();
    await screen.findByText("0/16B3748");
    expect(screen.getByText("2.0 KiB")).toBeTruthy();
    source.emit("status", { slot_lag_bytes: 0, events_per_second: 250, last_committed_lsn: "0/2000000", tables: { students: 11, courses: 4 } });
    await screen.findByText("0/2000000");
    expect(screen.getByText("250")).toBeTruthy();
    const counts = screen.getByRole("table", { name: "Per-table counts" });
    expect(within(counts).getByText("11")).toBeTruthy();
  });

  it("shows slot health, warns before retention is a risk and counts dead letters", async () => {
    mockFetch((call) =>
      call.url.pathname === "/api/analytics/status"
        ? {
            body: {
              slot_wal_status: "reserved",
              slot_retained_wal_bytes: 1024,
              slot_safe_wal_size_bytes: null,
              slot_retention_warning: false,
              dead_letters: 0,
              tables: {},
            },
          }
        : undefined,
    );
    const source = renderPipeline();
    await screen.findByText("reserved");
    expect(screen.queryByRole("alert")).toBeNull();
    source.emit("status", {
      slot_wal_status: "unreserved",
      slot_retained_wal_bytes: 3 * 1048576,
      slot_safe_wal_size_bytes: 1048576,
      slot_retention_warning: true,
      dead_letters: 7,
      tables: {},
    });
    await screen.findByText("unreserved");
    expect((await screen.findByRole("alert")).textContent).toBe(
      "Replication slot at risk: wal_status unreserved, 3.0 MiB of WAL retained, 1.0 MiB before it may be invalidated.",
    );
    expect(screen.getByText("7")).toBeTruthy();
  });

  it("says the lake is idle and up to date when the slot has no lag, and how fresh it is otherwise", async () => {
    mockFetch((call) =>
      call.url.pathname === "/api/analytics/status" ? { body: { slot_lag_bytes: 0, slot_lag_seconds: 0, freshness_seconds: 600 } } : undefined,
    );
    const source = renderPipeline();
    const freshness = () => screen.getByText("Freshness").parentElement!.querySelector(".stat-value")!.textContent;
    await waitFor(() => expect(freshness()).toBe("idle, up to date"));
    source.emit("status", { slot_lag_bytes: 4096, slot_lag_seconds: 1.5, freshness_seconds: 2.5 });
    expect(freshness()).toBe("2.5 s");
  });
});

describe("freshnessText", () => {
  it("is idle with no lag in bytes or seconds, the freshness otherwise", () => {
    expect(freshnessText(0, 0, 900)).toBe("idle, up to date");
    expect(freshnessText(0, null, 900)).toBe("idle, up to date");
    expect(freshnessText(null, 0, 900)).toBe("idle, up to date");
    expect(freshnessText(100, 0.2, 0.4)).toBe("400 ms");
    expect(freshnessText(100, 3, 300)).toBe("5 min");
    expect(freshnessText(null, null, null)).toBe("–");
  });
});

describe("snapshotText", () => {
  it("shows the table and how far its chunks got while a snapshot runs", () => {
    expect(snapshotText(null).value).toBe("–");
    expect(snapshotText({ running: false, chunks: 0, rows: 0 })).toEqual({ value: "none running", sub: undefined });
    const running = snapshotText({ running: true, table: "public.students", last_key: "S000123", tables_left: 2, chunks: 3, rows: 24576 });
    expect(running.value).toBe("public.students");
    expect(running.sub).toContain("after key S000123");
    expect(running.sub).toContain("3 chunks");
    expect(running.sub).toContain("1 more table(s)");
  });
});

describe("Analytics for each role", () => {
  it("offers the SQL console to the roles that hold the console permission only", () => {
    for (const [role, console] of [["viewer", false], ["registrar", false], ["analyst", true], ["admin", true]] as const) {
      mockFetch(() => ({ body: [], headers: { "X-Total-Count": "0" } }));
      const { unmount } = renderAs(<AnalyticsPage tab="students" />, meAs(role));
      expect(!!screen.queryByRole("tab", { name: "SQL console" })).toBe(console);
      unmount();
    }
  });
});
