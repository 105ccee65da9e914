import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { AnalyticsPage, SqlConsole, Timeline } from "./analytics";
import { PipelinePage } from "./pipeline";
import { LiveProvider } from "../lib/live";
import type { EventSourceLike } from "../lib/sse";
import { mockFetch } from "../test-utils";

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

describe("Students dimension", () => {
  it("shows every version, marks the current one, and refreshes on each lake commit", async () => {
    let versions = [version(1, 3.1, true, "2026-11-25 16:00:00+00", null)];
    const calls = mockFetch((call) =>
      call.url.pathname === "/api/analytics/dimensions/students" ? { body: versions, headers: { "X-Total-Count": String(versions.length) } } : undefined,
    );
    const source = new FakeSource();
    const factory = vi.fn(() => source);
    render(
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
    render(<AnalyticsPage tab="students" />);
    await user.type(screen.getByLabelText("Filter by id or name"), "Lovelace");
    await waitFor(() => expect(calls.at(-1)!.url.searchParams.get("q")).toBe("Lovelace"));
    await user.click(screen.getByLabelText("Current rows only"));
    await waitFor(() => expect(calls.at(-1)!.url.searchParams.get("current")).toBe("true"));
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
    expect(items[1].textContent).toMatch(/Gpa: 3\.1 → 3\.8/);
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
    render(<AnalyticsPage tab="history" />);
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
    render(<AnalyticsPage tab="as-of" />);
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
    await screen.findByText("3.1");
  });

  it("replays enrollments through the as-of route", async () => {
    const user = userEvent.setup();
    const calls = mockFetch((call) =>
      call.url.pathname === "/api/analytics/as-of/takes" ? { body: [{ student_id: "S1", course_id: "C1", semester: "Fall 2026" }] } : { body: [] },
    );
    window.history.replaceState(null, "", "/analytics/as-of?at=2026-11-25T16:10:00Z");
    render(<AnalyticsPage tab="as-of" />);
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

describe("Pipeline", () => {
  it("fills from GET /analytics/status and follows status events", async () => {
    mockFetch((call) =>
      call.url.pathname === "/api/analytics/status"
        ? { body: { slot_lag_bytes: 2048, events_per_second: 12.5, last_committed_lsn: "0/16B3748", tables: { students: 10, courses: 4 } } }
        : undefined,
    );
    const source = new FakeSource();
    render(
      <LiveProvider factory={() => source}>
        <PipelinePage />
      </LiveProvider>,
    );
    await screen.findByText("0/16B3748");
    expect(screen.getByText("2.0 KiB")).toBeTruthy();
    source.emit("status", { slot_lag_bytes: 0, events_per_second: 250, last_committed_lsn: "0/2000000", tables: { students: 11, courses: 4 } });
    await screen.findByText("0/2000000");
    expect(screen.getByText("250")).toBeTruthy();
    const counts = screen.getByRole("table", { name: "Per-table counts" });
    expect(within(counts).getByText("11")).toBeTruthy();
  });
});
