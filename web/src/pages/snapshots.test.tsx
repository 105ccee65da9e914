import { afterEach, describe, expect, it, vi } from "vitest";
import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { changeLabel, SnapshotsTab, type LakeSnapshot } from "./snapshots";
import { renderAs } from "../test-render";
import { mockFetch } from "../test-utils";

afterEach(() => vi.unstubAllGlobals());

const points: LakeSnapshot[] = [
  {
    lake_version: 5,
    commit_time: "2026-11-25T16:00:05.000000Z",
    written_at: "2026-11-25T16:00:05.100000Z",
    lsn: "0/1388",
    end_lsn: "0/1389",
    snapshots: { students_dim: "4750565952543876660", departments_changes: "12" },
    changes: [
      { table: "students_dim", snapshot_id: "4750565952543876660", operation: "overwrite", added_rows: 1, deleted_rows: 1, rows: 7, complete: true },
      { table: "departments_changes", snapshot_id: "12", operation: "append", added_rows: 2, deleted_rows: 0, rows: 4, complete: false },
    ],
  },
  { lake_version: 4, commit_time: "2026-11-25T16:00:04.000000Z", written_at: "2026-11-25T16:00:04.1Z", lsn: "0/FA0", end_lsn: "0/FA1", snapshots: {}, changes: [] },
];

describe("Snapshots", () => {
  it("lists the lake's snapshots with what each changed, and shows a table as of one", async () => {
    const calls = mockFetch((call) => {
      if (call.url.pathname === "/api/analytics/snapshots") return { body: points };
      if (call.url.pathname === "/api/analytics/as-of/students_dim") {
        return { body: [{ student_key: 3, id: "S3" }], headers: { "X-Total-Count": "1", "X-As-Of": "2026-11-25T16:00:05Z" } };
      }
      return undefined;
    });
    renderAs(<SnapshotsTab />);
    const grid = await screen.findByRole("table", { name: "Lake snapshots" });
    const rows = within(grid).getAllByRole("row").slice(1);
    expect(rows).toHaveLength(2);
    expect(within(rows[0]).getByText("+1 −1 · overwrite · 7 rows")).toBeTruthy();
    expect(within(rows[0]).getByText("+2 (partly expired) · append · 4 rows")).toBeTruthy();
    expect(within(rows[1]).getByText("nothing (a compaction of the lake)")).toBeTruthy();
    // departments has no as-of view: named, not a button.
    expect(within(rows[0]).queryByRole("button", { name: "departments_changes" })).toBeNull();

    await userEvent.click(within(rows[0]).getByRole("button", { name: "students_dim" }));
    await screen.findByRole("table", { name: "students_dim as of snapshot 4750565952543876660" });
    expect(await screen.findByText("S3")).toBeTruthy();
    const asOf = calls.find((c) => c.url.pathname === "/api/analytics/as-of/students_dim");
    // The id travels as its decimal text: a JavaScript number would lose its last digits.
    expect(asOf?.url.searchParams.get("as_of_snapshot")).toBe("4750565952543876660");
  });

  it("labels a compaction and an empty change", () => {
    const base = { table: "t", snapshot_id: "1", rows: 0, complete: true };
    expect(changeLabel({ ...base, operation: "replace", added_rows: 0, deleted_rows: 0 })).toBe("compacted");
    expect(changeLabel({ ...base, operation: "append", added_rows: 0, deleted_rows: 0 })).toBe("no rows");
  });
});
