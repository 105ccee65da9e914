import { describe, expect, it } from "vitest";
import { backoffDelay, LiveStream, type EventSourceLike } from "./sse";

class FakeSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: Event) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  closed = false;
  listeners = new Map<string, (ev: MessageEvent) => void>();
  constructor(readonly url: string) {}
  addEventListener(type: string, l: (ev: MessageEvent) => void) {
    this.listeners.set(type, l);
  }
  close() {
    this.closed = true;
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  fail() {
    this.readyState = 2;
    this.onerror?.(new Event("error"));
  }
  emit(type: string, data: string) {
    this.listeners.get(type)?.({ data } as MessageEvent);
  }
}

// A manual clock: timers fire only when the test advances time.
function manualClock() {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let next = 1;
  return {
    setTimer: (fn: () => void, ms: number) => {
      const id = next++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimer: (id: unknown) => {
      timers = timers.filter((t) => t.id !== id);
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = t.at;
        t.fn();
      }
      now = end;
    },
    pending: () => timers.length,
  };
}

function setup() {
  const sources: FakeSource[] = [];
  const events: [string, unknown][] = [];
  const states: string[] = [];
  const clock = manualClock();
  const stream = new LiveStream({
    url: "/api/analytics/events",
    events: ["commit", "status"],
    onEvent: (e, d) => events.push([e, d]),
    onState: (s, ms) => states.push(ms === undefined ? s : `${s} ${ms}`),
    factory: (url) => {
      const s = new FakeSource(url);
      sources.push(s);
      return s;
    },
    initialDelayMs: 500,
    maxDelayMs: 4000,
    staleMs: 5000,
    setTimer: clock.setTimer,
    clearTimer: clock.clearTimer,
  });
  return { sources, events, states, clock, stream };
}

describe("backoffDelay", () => {
  it("doubles from the initial delay up to the cap", () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, 500, 4000))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });
});

describe("LiveStream", () => {
  it("delivers named events with JSON data", () => {
    const { sources, events, stream } = setup();
    stream.start();
    sources[0].open();
    sources[0].emit("commit", '{"lsn":"0/16B3748"}');
    sources[0].emit("status", "not json");
    expect(events).toEqual([
      ["commit", { lsn: "0/16B3748" }],
      ["status", "not json"],
    ]);
  });

  it("reconnects after an error with growing delays, and resets them once connected", () => {
    const { sources, states, clock, stream } = setup();
    stream.start();
    sources[0].fail();
    expect(sources[0].closed).toBe(true);
    clock.advance(499);
    expect(sources).toHaveLength(1);
    clock.advance(1);
    expect(sources).toHaveLength(2);
    sources[1].fail();
    clock.advance(999);
    expect(sources).toHaveLength(2);
    clock.advance(1);
    expect(sources).toHaveLength(3);
    sources[2].open();
    expect(stream.failures).toBe(0);
    sources[2].fail();
    clock.advance(500);
    expect(sources).toHaveLength(4);
    expect(states.slice(0, 4)).toEqual(["connecting", "retrying 500", "connecting", "retrying 1000"]);
  });

  it("treats a connection that goes quiet as lost", () => {
    const { sources, clock, stream } = setup();
    stream.start();
    sources[0].open();
    clock.advance(4000);
    sources[0].emit("status", "{}"); // keeps it alive
    clock.advance(4000);
    expect(sources).toHaveLength(1);
    clock.advance(1000); // 5 s of silence
    expect(sources[0].closed).toBe(true);
    clock.advance(500);
    expect(sources).toHaveLength(2);
  });

  it("ignores events from a connection it has replaced", () => {
    const { sources, events, clock, stream } = setup();
    stream.start();
    sources[0].fail();
    clock.advance(500);
    sources[0].emit("commit", "1");
    sources[1].emit("commit", "2");
    expect(events).toEqual([["commit", 2]]);
  });

  it("stops for good: no reconnect is pending and the source is closed", () => {
    const { sources, clock, stream } = setup();
    stream.start();
    sources[0].fail();
    stream.stop();
    clock.advance(60_000);
    expect(sources).toHaveLength(1);
    expect(clock.pending()).toBe(0);
  });
});
