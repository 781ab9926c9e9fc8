import { describe, expect, it } from "vitest";

import { nodeStatus, RECENT_MS, withLiveStatus } from "./status";

const now = Date.parse("2026-12-06T12:00:00Z");
const counted = (inputs: number, firedAgoMs: number | null) => ({
  inputs, outputs: inputs, errors: 0, last_fired_at: firedAgoMs === null ? null : new Date(now - firedAgoMs).toISOString(),
});

describe("nodeStatus", () => {
  it("is stopped when the pipeline does not run, waiting before any input, active after", () => {
    expect(nodeStatus(false, counted(3, null), undefined, now)).toBe("stopped");
    expect(nodeStatus(true, undefined, undefined, now)).toBe("waiting");
    expect(nodeStatus(true, counted(3, RECENT_MS + 1), undefined, now)).toBe("active");
  });

  it("shows a firing for a minute, from the counters or the feed", () => {
    expect(nodeStatus(true, counted(1, 1_000), undefined, now)).toBe("fired");
    expect(nodeStatus(true, counted(0, null), { status: "fired", error: null, at: now - 5_000 }, now)).toBe("fired");
  });

  it("shows the server's error status until the node fires again", () => {
    expect(nodeStatus(true, { ...counted(2, 1_000), status: "error" }, undefined, now)).toBe("error");
    expect(nodeStatus(false, { ...counted(2, null), status: "error" }, undefined, now)).toBe("error");
    expect(nodeStatus(true, { ...counted(2, 1_000), status: "fired" }, undefined, now)).toBe("fired");
  });

  it("puts a recent error from the feed first, even stopped", () => {
    expect(nodeStatus(false, counted(1, 1_000), { status: "error", error: "boom", at: now - 1_000 }, now)).toBe("error");
    expect(nodeStatus(true, counted(1, null), { status: "error", error: "boom", at: now - RECENT_MS - 1 }, now)).toBe("active");
  });
});

it("withLiveStatus keeps only this pipeline's node messages", () => {
  const message = { pipeline_id: "p", status: "active", state: "fired", node: "n", error: null };
  expect(withLiveStatus({}, "p", message, 5)).toEqual({ n: { status: "fired", error: null, at: 5 } });
  expect(withLiveStatus({}, "q", message, 5)).toEqual({});
  expect(withLiveStatus({}, "p", { ...message, node: null }, 5)).toEqual({});
});
