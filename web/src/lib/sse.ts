// LiveStream: one server-sent-events connection that stays up. The browser's EventSource retries
// by itself only while the response was a stream; after an HTTP error or a proxy cut it gives up
// (readyState CLOSED), and a stalled connection is never noticed. LiveStream closes and reopens the
// connection itself, with exponential backoff (reset once a connection opens), and treats a
// connection that delivers nothing for `staleMs` (the server sends `status` every second) as lost.
//
// Threading: browser main thread; timers come from the injected clock so tests can drive them.

export interface EventSourceLike {
  readyState: number;
  onopen: ((ev: Event) => void) | null;
  onerror: ((ev: Event) => void) | null;
  addEventListener(type: string, listener: (ev: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

export interface LiveStreamOptions {
  url: string;
  events: string[]; // event names to subscribe to
  onEvent: (event: string, data: unknown) => void;
  onState?: (state: "connecting" | "open" | "retrying", retryInMs?: number) => void;
  factory?: EventSourceFactory;
  initialDelayMs?: number;
  maxDelayMs?: number;
  staleMs?: number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

// The wait before reconnect attempt `attempt` (0-based): initial × 2^attempt, capped at max.
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(initialMs * 2 ** Math.min(attempt, 30), maxMs);
}

export class LiveStream {
  private source: EventSourceLike | null = null;
  private attempt = 0;
  private retryTimer: unknown = null;
  private staleTimer: unknown = null;
  private stopped = false;
  private readonly o: Required<Omit<LiveStreamOptions, "onState">> & Pick<LiveStreamOptions, "onState">;

  constructor(options: LiveStreamOptions) {
    this.o = {
      factory: (url) => new EventSource(url) as unknown as EventSourceLike,
      initialDelayMs: 500,
      maxDelayMs: 10_000,
      staleMs: 5_000,
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      // Options given as undefined keep their defaults.
      ...(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as LiveStreamOptions),
    };
  }

  // Opens the connection. REQUIRES: not started yet, or stopped by stop().
  start(): void {
    this.stopped = false;
    this.connect();
  }

  // Closes the connection and cancels any pending reconnect. Idempotent.
  stop(): void {
    this.stopped = true;
    this.clear();
  }

  // How many reconnects have failed in a row (0 while connected).
  get failures(): number {
    return this.attempt;
  }

  private clear(): void {
    if (this.retryTimer !== null) this.o.clearTimer(this.retryTimer);
    if (this.staleTimer !== null) this.o.clearTimer(this.staleTimer);
    this.retryTimer = this.staleTimer = null;
    if (this.source) {
      this.source.onopen = this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }

  private connect(): void {
    this.clear();
    this.o.onState?.("connecting");
    const source = this.o.factory(this.o.url);
    this.source = source;
    source.onopen = () => {
      this.attempt = 0;
      this.o.onState?.("open");
      this.armStale();
    };
    source.onerror = () => this.retry();
    for (const name of this.o.events) {
      source.addEventListener(name, (ev: MessageEvent) => {
        if (this.source !== source) return;
        this.armStale();
        let data: unknown = ev.data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          /* not JSON: pass the text through */
        }
        this.o.onEvent(name, data);
      });
    }
    this.armStale();
  }

  private armStale(): void {
    if (this.staleTimer !== null) this.o.clearTimer(this.staleTimer);
    this.staleTimer = this.o.setTimer(() => this.retry(), this.o.staleMs);
  }

  private retry(): void {
    if (this.stopped) return;
    this.clear();
    const delay = backoffDelay(this.attempt, this.o.initialDelayMs, this.o.maxDelayMs);
    this.attempt++;
    this.o.onState?.("retrying", delay);
    this.retryTimer = this.o.setTimer(() => {
      this.retryTimer = null;
      if (!this.stopped) this.connect();
    }, delay);
  }
}
