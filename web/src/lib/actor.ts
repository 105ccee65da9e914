// Who made a change, for people: the lake's changed_by (the user, or null) and origin
// ("portal", "simulator", "cli", "snapshot", "database"; null for changes stored before the lake
// recorded them). See docs/CDC.md "Who changed what".

const kWithoutUser: Record<string, string> = {
  portal: "the portal (no one signed in)",
  simulator: "the activity simulator",
  cli: "the command line",
  snapshot: "the initial snapshot",
  database: "outside MigsbyU",
};

export function actorLabel(changedBy: unknown, origin: unknown): string {
  if (typeof changedBy === "string" && changedBy !== "") return changedBy;
  if (typeof origin === "string" && origin in kWithoutUser) return kWithoutUser[origin];
  if (typeof origin === "string" && origin !== "") return origin;
  return "not recorded";
}

// The origin as a badge's text, or null when there is none to show.
export function originLabel(origin: unknown): string | null {
  return typeof origin === "string" && origin !== "" ? origin : null;
}
