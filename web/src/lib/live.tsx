// The live link to the analytics pipeline: one LiveStream on /api/analytics/events shared by
// every page. `commits` counts lake commits seen since the page loaded; analytics views put it in
// their fetch dependencies, so each commit refreshes them without a reload. `status` is the
// latest `status` event (sent every second).
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { API_BASE } from "../api/client";
import { LiveStream, type EventSourceFactory } from "./sse";

export type PipelineStatus = Record<string, unknown>;

export interface LiveState {
  commits: number;
  lastCommit: unknown;
  status: PipelineStatus | null;
  connection: "connecting" | "open" | "retrying";
}

const initial: LiveState = { commits: 0, lastCommit: null, status: null, connection: "connecting" };
const LiveContext = createContext<LiveState>(initial);

export function LiveProvider({ children, factory }: { children: ReactNode; factory?: EventSourceFactory }) {
  const [state, setState] = useState<LiveState>(initial);
  useEffect(() => {
    if (typeof EventSource === "undefined" && !factory) return;
    const stream = new LiveStream({
      url: `${API_BASE}/analytics/events`,
      events: ["commit", "status"],
      factory,
      onEvent: (event, data) =>
        setState((s) =>
          event === "commit"
            ? { ...s, commits: s.commits + 1, lastCommit: data }
            : { ...s, status: (data as PipelineStatus) ?? null },
        ),
      onState: (connection) => setState((s) => ({ ...s, connection })),
    });
    stream.start();
    return () => stream.stop();
  }, [factory]);
  return <LiveContext.Provider value={state}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  return useContext(LiveContext);
}
