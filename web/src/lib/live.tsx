// The live link to the analytics pipeline: one LiveStream on /api/analytics/events shared by
// every page. `commits` counts lake commits seen since the page loaded; `status` is the latest
// `status` event (sent every second).
//
// Views refresh through useLakeRefresh, not on every commit: under load the lake commits every
// 50 ms, and a view refetching on each would flood the server. A view names the lake views it
// reads; a commit whose `tables` (the views it changed, as the server names them) miss all of
// them refreshes nothing, and the commits that do touch it refresh it at most once per second.
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
import { API_BASE } from "../api/client";
import { LiveStream, type EventSourceFactory } from "./sse";

export type PipelineStatus = Record<string, unknown>;

export interface LiveState {
  commits: number;
  lastCommit: unknown;
  status: PipelineStatus | null;
  connection: "connecting" | "open" | "retrying";
}

type CommitListener = (commit: unknown) => void;

const initial: LiveState = { commits: 0, lastCommit: null, status: null, connection: "connecting" };
const LiveContext = createContext<LiveState>(initial);
// Subscribes to each commit event as it arrives; returns the unsubscribe function.
const CommitContext = createContext<(listener: CommitListener) => () => void>(() => () => {});

export function LiveProvider({ children, factory }: { children: ReactNode; factory?: EventSourceFactory }) {
  const [state, setState] = useState<LiveState>(initial);
  const listeners = useRef(new Set<CommitListener>());
  const [subscribe] = useState(() => (listener: CommitListener) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  });
  useEffect(() => {
    if (typeof EventSource === "undefined" && !factory) return;
    const stream = new LiveStream({
      url: `${API_BASE}/analytics/events`,
      events: ["commit", "status"],
      factory,
      onEvent: (event, data) => {
        if (event === "commit") {
          setState((s) => ({ ...s, commits: s.commits + 1, lastCommit: data }));
          for (const listener of [...listeners.current]) listener(data);
        } else {
          setState((s) => ({ ...s, status: (data as PipelineStatus) ?? null }));
        }
      },
      onState: (connection) => setState((s) => ({ ...s, connection })),
    });
    stream.start();
    return () => stream.stop();
  }, [factory]);
  return (
    <CommitContext.Provider value={subscribe}>
      <LiveContext.Provider value={state}>{children}</LiveContext.Provider>
    </CommitContext.Provider>
  );
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}

// Whether a commit event may have changed one of `tables`: yes when it names a table of theirs,
// or names none (an event without `tables` does not say what it changed).
export function commitTouches(commit: unknown, tables: readonly string[]): boolean {
  const named = commit && typeof commit === "object" ? (commit as { tables?: unknown }).tables : undefined;
  if (!Array.isArray(named)) return true;
  // "*_dim" stands for every view whose name ends in "_dim" (a dimension of any table).
  return named.some((t) =>
    tables.some((w) => (w.startsWith("*") ? String(t).endsWith(w.slice(1)) : w === String(t))),
  );
}

export const kRefreshIntervalMs = 1000;

// A refresh key for a view over the lake views `tables` ("students_dim",
// "course_enrollment_fact", "takes_changes", ..., or "*_dim": any name with that ending): put it
// in the view's fetch dependencies. It
// changes after each commit that touches `tables`, at most once per `intervalMs`: the first such
// commit after a quiet interval changes it at once; those that follow within the interval are
// folded into one change at the interval's end, so the view always ends up showing the last one.
export function useLakeRefresh(tables: readonly string[], intervalMs = kRefreshIntervalMs): number {
  const subscribe = useContext(CommitContext);
  const [key, setKey] = useState(0);
  const tablesKey = tables.join(",");
  useEffect(() => {
    const watched = tablesKey.split(",");
    let last = -Infinity; // when the key last changed
    let timer: ReturnType<typeof setTimeout> | null = null;
    const fire = () => {
      timer = null;
      last = Date.now();
      setKey((k) => k + 1);
    };
    const unsubscribe = subscribe((commit) => {
      if (timer !== null || !commitTouches(commit, watched)) return;
      const wait = last + intervalMs - Date.now();
      if (wait <= 0) fire();
      else timer = setTimeout(fire, wait);
    });
    return () => {
      unsubscribe();
      if (timer !== null) clearTimeout(timer);
    };
  }, [subscribe, tablesKey, intervalMs]);
  return key;
}
