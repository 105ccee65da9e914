import { describe, expect, it } from "vitest";
import type uPlot from "uplot";
import { barLayout, chartData, clockLabel, plotOptions } from "./Chart";

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

describe("plotOptions", () => {
  const settings = { width: 600, height: 200 };
  const isBars = (o: uPlot.Options) => o.series.slice(1).every((s) => s.paths !== undefined && s.width === 0);

  it("draws categories as bars, however many there are", () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ label: `Dept ${i}`, value: i }));
    for (const rows of [[{ label: "Physics", value: 3 }, { label: "Biology", value: 5 }], many]) {
      const o = plotOptions(chartData(rows), settings);
      expect(isBars(o)).toBe(true);
      expect(o.scales!.x.range).toEqual([-0.6, rows.length - 0.4]);
    }
  });

  it("puts several series of one category side by side", () => {
    const rows = [
      { label: "3.50–3.75", earlier: 2, now: 4 },
      { label: "3.75–4.00", earlier: 1, now: 6 },
    ];
    const o = plotOptions(chartData(rows), settings);
    expect(isBars(o)).toBe(true);
    // Each group is 0.8 of a category wide; series i's bar is the i-th half of it.
    const round = (xs: number[]) => xs.map((x) => Math.round(x * 1e9) / 1e9);
    const bars = (i: number) => {
      const { x0, size } = barLayout(chartData(rows), i);
      return { x0: round(x0), size: round(size) };
    };
    expect(bars(0)).toEqual({ x0: [-0.4, 0.6], size: [0.4, 0.4] });
    expect(bars(1)).toEqual({ x0: [0, 1], size: [0.4, 0.4] });
  });

  it("draws a time series as a line, and one instant alone as a bar in the day around it", () => {
    const two = chartData([
      { at: "2026-11-25T16:00:00Z", value: 1 },
      { at: "2026-11-26T16:00:00Z", value: 3 },
    ]);
    const line = plotOptions(two, settings);
    expect(line.series[1].paths).toBeUndefined();
    expect(line.series[1].width).toBe(2);
    const one = chartData([{ at: "2026-11-25T16:00:00Z", value: 1000 }]);
    const bar = plotOptions(one, settings);
    expect(isBars(bar)).toBe(true);
    expect(bar.scales!.x.range).toEqual([one.x[0] - 43_200, one.x[0] + 43_200]);
  });

  it("spans a time window with wall-clock labels, however short the samples", () => {
    const end = new Date(2026, 10, 25, 16, 15, 30).getTime() / 1000;
    const samples = chartData([
      { at: new Date((end - 2) * 1000).toISOString(), events_per_s: 4 },
      { at: new Date(end * 1000).toISOString(), events_per_s: 5 },
    ]);
    const o = plotOptions(samples, { ...settings, timeWindow: { spanS: 120 } });
    expect(o.scales!.x.range).toEqual([end - 120, end]);
    const values = o.axes![0].values as (u: uPlot, splits: number[]) => string[];
    expect(values({} as uPlot, [end - 90, end - 60, end])).toEqual(["16:14:00", "16:14:30", "16:15:30"]);
    expect(o.axes![0].incrs).toContain(30);
  });
});

describe("clockLabel", () => {
  it("prints hours, minutes and seconds of the local time", () => {
    expect(clockLabel(new Date(2026, 0, 2, 3, 4, 5).getTime() / 1000)).toBe("03:04:05");
    expect(clockLabel(new Date(2026, 0, 2, 23, 59, 59, 900).getTime() / 1000)).toBe("23:59:59");
  });
});
