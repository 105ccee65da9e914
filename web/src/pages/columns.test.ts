import { describe, expect, it } from "vitest";
import { columnsFor } from "./analytics";

describe("columnsFor", () => {
  it("puts surrogate keys first, attributes in the forms' order, SCD bookkeeping last", () => {
    // Keys arrive sorted alphabetically, as the server's JSON objects have them.
    const row = {
      address: "1 Main St",
      current_row_indicator: "yes",
      first_name: "Ada",
      gpa: 3.5,
      id: "S1",
      last_name: "Lee",
      row_effective_start: "2026-01-01T00:00:00Z",
      student_key: 1,
      zzz_extra: "x",
    };
    expect(columnsFor([row], false).map((c) => c.key)).toEqual([
      "student_key",
      "id",
      "first_name",
      "last_name",
      "address",
      "gpa",
      "zzz_extra",
      "row_effective_start",
      "current_row_indicator",
    ]);
  });
});
