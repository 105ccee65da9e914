// Chart: a small uPlot wrapper (uPlot draws on canvas: ~45 KB, fast at thousands of points).
// Data comes as the aggregates API gives it — an array of objects — and chartData() picks the
// axis: the first non-numeric key is x (instants become a time axis, other text becomes
// categories), numeric keys become series; a second text key ("long" data such as
// {semester, bucket, count}) is pivoted into one series per value.
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

export function Chart({
  title,
  rows,
  kind = "line",
  height = 260,
  children,
  xLabel,
  valueLabel,
}: {
  title: string;
  xLabel?: string; // legend name of the x value
  valueLabel?: string; // legend name of a `value` series
  rows: Record<string, unknown>[];
  kind?: "line" | "bars";
  height?: number;
  children?: ReactNode;
}) {
  const box = useRef<HTMLDivElement>(null);
  const data = chartData(rows);
  const key = JSON.stringify(data);

  useEffect(() => {
    const el = box.current;
    if (!el || data.x.length === 0 || typeof ResizeObserver === "undefined") return;
    const bars = data.series.length === 1 && (kind === "bars" || (!data.time && data.x.length <= 40));
    const width = Math.max(el.clientWidth, 280);
    const opts: uPlot.Options = {
      width,
      height,
      title: undefined,
      scales: {
        x: {
          time: data.time,
          // One instant alone would be stretched over years: show the day around it.
          range: data.time
            ? data.x.length === 1
              ? [data.x[0] - 43_200, data.x[0] + 43_200]
              : undefined
            : [-0.6, data.x.length - 0.4],
        },
      },
      axes: [
        data.labels
          ? ({
              values: (_u, splits) => splits.map((s) => (Number.isInteger(s) ? (data.labels![s] ?? "") : "")),
              incrs: [1, 2, 3, 4, 5, 10, 20, 50],
              space: Math.min(120, Math.max(40, longest(data.labels) * 7)),
            } as uPlot.Axis)
          : {},
        {},
      ],
      series: [
        { label: xLabel ?? (data.time ? "Time" : "") },
        ...data.series.map((s, i) => ({
          label: s.name === "value" ? (valueLabel ?? "Value") : s.name,
          stroke: kPalette[i % kPalette.length],
          fill: bars ? kPalette[i % kPalette.length] + "cc" : undefined,
          width: bars ? 0 : 2,
          paths: bars ? uPlot.paths.bars!({ size: [0.8 / Math.max(data.series.length, 1), 60], align: 0 }) : undefined,
          points: { show: !bars && data.x.length < 60 },
          spanGaps: true,
        })),
      ],
      legend: { show: data.series.length > 0 },
    };
    const plot = new uPlot(opts, [data.x, ...data.series.map((s) => s.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 280), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, kind, height, xLabel, valueLabel]);

  return (
    <figure className="chart card">
      <figcaption>{title}</figcaption>
      {children}
      {data.x.length === 0 ? <p className="muted">No data yet.</p> : <div ref={box} className="chart-box" role="img" aria-label={title} />}
    </figure>
  );
}
