import { describe, expect, it } from "vitest";
import { chartData } from "./Chart";

describe("chartData", () => {
  it("orders semesters chronologically and makes one series per number", () => {
    const d = chartData([
      { semester: "Fall 2026", enrollments: 5 },
      { semester: "Spring 2026", enrollments: 3 },
      { semester: "Summer 2026", enrollments: 1 },
    ]);
    expect(d.labels).toEqual(["Spring 2026", "Summer 2026", "Fall 2026"]);
    expect(d.series).toEqual([{ name: "enrollments", values: [3, 1, 5] }]);
    expect(d.time).toBe(false);
  });

  it("pivots long data on its second text column", () => {
    const d = chartData([
      { semester: "Fall 2026", bucket: "3.5-4.0", count: 4 },
      { semester: "Fall 2026", bucket: "3.0-3.5", count: 2 },
      { semester: "Spring 2027", bucket: "3.5-4.0", count: 6 },
    ]);
    expect(d.labels).toEqual(["Fall 2026", "Spring 2027"]);
    expect(d.series).toEqual([
      { name: "3.0-3.5", values: [2, null] },
      { name: "3.5-4.0", values: [4, 6] },
    ]);
  });

  it("uses a time axis for instants", () => {
    const d = chartData([
      { at: "2026-11-25T16:00:01Z", students: 2 },
      { at: "2026-11-25T16:00:00Z", students: 1 },
    ]);
    expect(d.time).toBe(true);
    expect(d.x).toEqual([Date.parse("2026-11-25T16:00:00Z") / 1000, Date.parse("2026-11-25T16:00:01Z") / 1000]);
    expect(d.series[0].values).toEqual([1, 2]);
  });

  it("reads the aggregates API's label/value rows, ignoring bin bounds", () => {
    const d = chartData([
      { label: "0.00–0.25", lower: 0, upper: 0.25, value: 1 },
      { label: "0.25–0.50", lower: 0.25, upper: 0.5, value: 0 },
    ]);
    expect(d.labels).toEqual(["0.00–0.25", "0.25–0.50"]);
    expect(d.series).toEqual([{ name: "value", values: [1, 0] }]);
  });

  it("puts label/value rows with an instant on a time axis", () => {
    const d = chartData([
      { label: "2026-11-24", at: "2026-11-24T23:59:59.999999Z", value: 10 },
      { label: "2026-11-25", at: "2026-11-25T23:59:59.999999Z", value: 12 },
    ]);
    expect(d.time).toBe(true);
    expect(d.series).toEqual([{ name: "value", values: [10, 12] }]);
  });
});
