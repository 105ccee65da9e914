// LiveBadge: the state of the live link to the pipeline, and how many lake commits it has seen.
import { useLive } from "../lib/live";

export function LiveBadge() {
  const live = useLive();
  const text = live.connection === "open" ? "live" : live.connection === "retrying" ? "reconnecting…" : "connecting…";
  return (
    <span className={`live-badge ${live.connection}`} role="status" title={`${live.commits} lake commits since this page opened`}>
      <span className="dot" aria-hidden="true" /> {text}
      {live.commits > 0 && <span className="muted"> · {live.commits} commits</span>}
    </span>
  );
}
