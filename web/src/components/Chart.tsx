// Chart: a small uPlot wrapper (uPlot draws on canvas: ~45 KB, fast at thousands of points).
// Data comes as the aggregates API gives it — an array of objects — and chartData() picks the
// axis: the first non-numeric key is x (instants become a time axis, other text becomes
// categories), numeric keys become series; a second text key ("long" data such as
// {semester, bucket, count}) is pivoted into one series per value. plotOptions() chooses how it
// is drawn.
import { useEffect, useRef, type ReactNode } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { parseInstant } from "../lib/asof";
import { semesterOrder } from "../lib/semester";

export interface ChartData {
  x: number[];
  labels: string[] | null; // category names when x is an index
  time: boolean;
  series: { name: string; values: (number | null)[] }[];
}

const isNum = (v: unknown) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && !isNaN(Number(v)));
const kPalette = ["#3559e0", "#e0641f", "#17945a", "#a43fc4", "#c0392b", "#0c8ea0", "#8a6d00", "#555"];

export function chartData(rows: Record<string, unknown>[], xKey?: string): ChartData {
  if (rows.length === 0) return { x: [], labels: [], time: false, series: [] };
  const keys = Object.keys(rows[0]);
  const textKeys = keys.filter((k) => rows.some((r) => r[k] !== null && r[k] !== undefined && !isNum(r[k])));
  // The aggregates API's shape: {label, value, ...} (with `at` for series over time); extra
  // numeric keys such as a bin's lower/upper bounds are descriptive, not series.
  const labelled = keys.includes("label") && keys.includes("value");
  const x = xKey ?? (labelled ? (keys.includes("at") ? "at" : "label") : (textKeys[0] ?? keys[0]));
  const pivot = labelled ? undefined : textKeys.filter((k) => k !== x)[0];
  const numericKeys = labelled
    ? keys.filter((k) => k === "value" || (!["lower", "upper", "at", "label"].includes(k) && !textKeys.includes(k)))
    : keys.filter((k) => k !== x && k !== pivot && !textKeys.includes(k));
  const time = rows.every((r) => typeof r[x] === "string" && /^\d{4}-\d\d-\d\d/.test(String(r[x])) && parseInstant(r[x]) !== null);

  // Distinct x values in order.
  const xs: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    const k = String(r[x]);
    if (!seen.has(k)) {
      seen.add(k);
      xs.push(k);
    }
  }
  if (time) xs.sort((a, b) => parseInstant(a)! - parseInstant(b)!);
  else if (xs.every((s) => semesterOrder(s) !== Number.MAX_SAFE_INTEGER)) xs.sort((a, b) => semesterOrder(a) - semesterOrder(b));
  const index = new Map(xs.map((v, i) => [v, i]));

  const series: ChartData["series"] = [];
  if (pivot && numericKeys.length > 0) {
    const value = numericKeys[0];
    const groups = new Map<string, (number | null)[]>();
    for (const r of rows) {
      const g = String(r[pivot]);
      if (!groups.has(g)) groups.set(g, new Array(xs.length).fill(null));
      groups.get(g)![index.get(String(r[x]))!] = Number(r[value]);
    }
    [...groups.keys()].sort().forEach((g) => series.push({ name: g, values: groups.get(g)! }));
  } else {
    for (const k of numericKeys) {
      const values = new Array<number | null>(xs.length).fill(null);
      for (const r of rows) values[index.get(String(r[x]))!] = r[k] === null ? null : Number(r[k]);
      series.push({ name: k, values });
    }
  }
  return {
    x: time ? xs.map((v) => parseInstant(v)! / 1000) : xs.map((_, i) => i),
    labels: time ? null : xs,
    time,
    series,
  };
}

const longest = (labels: string[]) => labels.reduce((m, l) => Math.max(m, l.length), 0);
const pad2 = (n: number) => String(n).padStart(2, "0");

// An instant (seconds since the epoch) as a wall-clock time, "16:15:30" (local time).
export function clockLabel(seconds: number): string {
  const d = new Date(seconds * 1000);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

export interface PlotSettings {
  kind?: "line" | "bars";
  width: number;
  height: number;
  xLabel?: string;
  valueLabel?: string;
  // A time axis over the `spanS` seconds up to `endS` (default: the newest point), labelled with
  // wall-clock times, however few seconds the points themselves span.
  timeWindow?: { spanS: number; endS?: number };
}

const kGroupWidth = 0.8; // of a category's slot, shared by its bars

// The x-axis width of one bar group: a category's slot (1), or the day drawn around an instant
// alone (0 for other time series, which are lines).
const groupSlot = (data: ChartData) => (data.time ? (data.x.length === 1 ? 43_200 : 0) : 1);

// Where series `i`'s bars go when several share each x: side by side across the group, each
// `size` wide from its left edge `x0` (x-axis units).
export function barLayout(data: ChartData, i: number): { x0: number[]; size: number[] } {
  const slot = groupSlot(data);
  const width = (kGroupWidth * slot) / Math.max(data.series.length, 1);
  return { x0: data.x.map((x) => x - (kGroupWidth * slot) / 2 + i * width), size: data.x.map(() => width) };
}

// How a chart is drawn. Categories are bars, side by side when there are several series; a time
// series is a line, except one of a single instant, which is a bar in the day around it (a lone
// dot reads as nothing).
export function plotOptions(data: ChartData, settings: PlotSettings): uPlot.Options {
  const { kind = "line", width, height, xLabel, valueLabel, timeWindow } = settings;
  const n = Math.max(data.series.length, 1);
  const bars = kind === "bars" || !data.time || data.x.length === 1;
  let xRange: uPlot.Scale["range"] = undefined;
  if (timeWindow) {
    const end = timeWindow.endS ?? data.x[data.x.length - 1] ?? 0;
    xRange = [end - timeWindow.spanS, end];
  } else if (data.time) {
    if (data.x.length === 1) xRange = [data.x[0] - 43_200, data.x[0] + 43_200];
  } else {
    xRange = [-0.6, data.x.length - 0.4];
  }
  const xAxis: uPlot.Axis = data.labels
    ? {
        values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (data.labels![s] ?? "") : "")),
        incrs: [1, 2, 3, 4, 5, 10, 20, 50],
        space: Math.min(120, Math.max(40, longest(data.labels) * 7)),
      }
    : timeWindow
      ? { values: (_u, splits) => splits.map(clockLabel), incrs: [1, 2, 5, 10, 15, 20, 30, 60, 120, 300], space: 70 }
      : {};
  return {
    width,
    height,
    title: undefined,
    scales: { x: { time: data.time, range: xRange } },
    axes: [xAxis, {}],
    series: [
      { label: xLabel ?? (data.time ? "Time" : "") },
      ...data.series.map((s, i) => ({
        label: s.name === "value" ? (valueLabel ?? "Value") : s.name,
        stroke: kPalette[i % kPalette.length],
        fill: bars ? kPalette[i % kPalette.length] + "cc" : undefined,
        width: bars ? 0 : 2,
        paths: bars
          ? uPlot.paths.bars!(
              n === 1
                ? { size: [kGroupWidth, 60], align: 0 }
                : {
                    size: [kGroupWidth, 60],
                    disp: {
                      x0: { unit: 1, values: () => barLayout(data, i).x0 },
                      size: { unit: 1, values: () => barLayout(data, i).size },
                    },
                  },
            )
          : undefined,
        points: { show: !bars && data.x.length < 60 },
        spanGaps: true,
      })),
    ],
    legend: { show: data.series.length > 0 },
  };
}

export function Chart({
  title,
  rows,
  kind = "line",
  height = 260,
  children,
  xLabel,
  valueLabel,
  timeWindow,
}: {
  title: string;
  xLabel?: string; // legend name of the x value
  valueLabel?: string; // legend name of a `value` series
  rows: Record<string, unknown>[];
  kind?: "line" | "bars";
  height?: number;
  children?: ReactNode;
  timeWindow?: PlotSettings["timeWindow"];
}) {
  const box = useRef<HTMLDivElement>(null);
  const data = chartData(rows);
  const key = JSON.stringify(data);
  const windowKey = JSON.stringify(timeWindow ?? null);

  useEffect(() => {
    const el = box.current;
    if (!el || data.x.length === 0 || typeof ResizeObserver === "undefined") return;
    const opts = plotOptions(data, { kind, width: Math.max(el.clientWidth, 280), height, xLabel, valueLabel, timeWindow });
    const plot = new uPlot(opts, [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 280), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, kind, height, xLabel, valueLabel, windowKey]);

  return (
    <figure className="chart card">
      <figcaption>{title}</figcaption>
      {children}
      {data.x.length === 0 ? <p className="muted">No data yet.</p> : <div ref={box} className="chart-box" role="img" aria-label={title} />}
    </figure>
  );
}
