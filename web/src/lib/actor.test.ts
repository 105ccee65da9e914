import { describe, expect, it } from "vitest";
import { actorLabel, originLabel } from "./actor";

describe("actorLabel", () => {
  it("names the user when there is one, whatever the origin", () => {
    expect(actorLabel("registrar1", "portal")).toBe("registrar1");
    expect(actorLabel("simulator", "simulator")).toBe("simulator");
  });
  it("says where a change came from when it has no user", () => {
    expect(actorLabel(null, "database")).toBe("outside MigsbyU");
    expect(actorLabel(null, "snapshot")).toBe("the initial snapshot");
    expect(actorLabel(null, "portal")).toBe("the portal (no one signed in)");
    expect(actorLabel(null, "cli")).toBe("the command line");
    expect(actorLabel("", "cli")).toBe("the command line");
  });
  it("shows an origin it does not know as it is, and says when nothing was recorded", () => {
    expect(actorLabel(null, "batch-job")).toBe("batch-job");
    expect(actorLabel(null, null)).toBe("not recorded");
    expect(actorLabel(undefined, undefined)).toBe("not recorded");
    expect(actorLabel(42, {})).toBe("not recorded");
  });
});

describe("originLabel", () => {
  it("is the origin, or nothing for a missing one", () => {
    expect(originLabel("portal")).toBe("portal");
    expect(originLabel(null)).toBeNull();
    expect(originLabel("")).toBeNull();
  });
});
