// The "as of" slider: a position in [0, steps] maps linearly onto the instants between the
// earliest change the lake holds and now, and back. Instants travel as ISO 8601 UTC strings.

export interface TimeRange {
  startMs: number;
  endMs: number;
}

// The instant for slider position `pos` of `steps`; clamps out-of-range positions.
export function instantAt(range: TimeRange, pos: number, steps: number): string {
  const p = Math.min(Math.max(pos, 0), steps);
  const span = Math.max(range.endMs - range.startMs, 0);
  const ms = steps === 0 ? range.endMs : range.startMs + Math.round((span * p) / steps);
  return new Date(ms).toISOString();
}

// The slider position nearest to `iso`, clamped to the range.
export function positionOf(range: TimeRange, iso: string, steps: number): number {
  const ms = Date.parse(iso);
  const span = range.endMs - range.startMs;
  if (!Number.isFinite(ms) || span <= 0) return steps;
  return Math.min(Math.max(Math.round(((ms - range.startMs) / span) * steps), 0), steps);
}

// A datetime-local input's value ("YYYY-MM-DDTHH:MM:SS", local time) from an ISO instant, and back.
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(
    d.getMinutes(),
  )}:${pad(d.getSeconds())}`;
}

export function fromLocalInput(value: string): string | null {
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}

// Parses the lake's timestamps ("2026-11-25 16:20:01.123+00", ISO, or epoch numbers) to ms.
export function parseInstant(value: unknown): number | null {
  if (typeof value === "number") return value > 1e12 ? value : value * 1000;
  if (typeof value !== "string" || value === "") return null;
  let text = value.trim().replace(" ", "T");
  if (/[+-]\d\d$/.test(text)) text += ":00";
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}
