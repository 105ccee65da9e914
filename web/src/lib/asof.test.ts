import { describe, expect, it } from "vitest";
import { fromLocalInput, instantAt, parseInstant, positionOf, toLocalInput } from "./asof";

const range = { startMs: Date.parse("2026-11-25T16:00:00Z"), endMs: Date.parse("2026-11-25T17:00:00Z") };

describe("as-of slider", () => {
  it("maps the ends and the middle of the slider to instants", () => {
    expect(instantAt(range, 0, 1000)).toBe("2026-11-25T16:00:00.000Z");
    expect(instantAt(range, 1000, 1000)).toBe("2026-11-25T17:00:00.000Z");
    expect(instantAt(range, 500, 1000)).toBe("2026-11-25T16:30:00.000Z");
    expect(instantAt(range, 1, 1000)).toBe("2026-11-25T16:00:03.600Z");
  });

  it("clamps positions outside the slider", () => {
    expect(instantAt(range, -5, 1000)).toBe("2026-11-25T16:00:00.000Z");
    expect(instantAt(range, 2000, 1000)).toBe("2026-11-25T17:00:00.000Z");
  });

  it("finds the position of an instant, the inverse of instantAt", () => {
    expect(positionOf(range, "2026-11-25T16:15:00Z", 1000)).toBe(250);
    expect(positionOf(range, instantAt(range, 737, 1000), 1000)).toBe(737);
    expect(positionOf(range, "2026-11-24T00:00:00Z", 1000)).toBe(0);
    expect(positionOf(range, "not a time", 1000)).toBe(1000);
  });

  it("parses the lake's timestamp spellings", () => {
    expect(parseInstant("2026-11-25 16:20:01.5+00")).toBe(Date.parse("2026-11-25T16:20:01.500Z"));
    expect(parseInstant("2026-11-25T16:20:01Z")).toBe(Date.parse("2026-11-25T16:20:01Z"));
    expect(parseInstant(1764087601)).toBe(1764087601000);
    expect(parseInstant("")).toBeNull();
    expect(parseInstant(null)).toBeNull();
  });

  it("round-trips a local datetime input", () => {
    const iso = "2026-11-25T16:20:05.000Z";
    expect(fromLocalInput(toLocalInput(iso))).toBe(iso);
  });
});
