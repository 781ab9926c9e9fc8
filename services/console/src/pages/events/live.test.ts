import { describe, expect, it } from "vitest";

import { applyLiveEvent, type EventPages, rowFromLive } from "./live";
import type { EventRow } from "./search";

const NOW = new Date("2026-01-02T15:00:00Z");

function row(id: string, time: string, fields: Partial<EventRow> = {}): EventRow {
  return { ...rowFromLive({ id, event_type: "intrusion", severity: "high", started_at: time }, time)!, ...fields };
}

function pages(...lists: [EventRow[], string | null][]): EventPages {
  return { pages: lists.map(([results, next]) => ({ results, next })), pageParams: lists.map((_, n) => n) };
}

const ids = (data: EventPages | undefined) => data!.pages.map((p) => p.results.map((r) => r.id));

describe("live events into the loaded lists", () => {
  it("places a new event by time, open, when it belongs in the list", () => {
    const data = pages([[row("c", "2026-01-02T14:50:00Z"), row("a", "2026-01-02T14:00:00Z")], null]);
    const live = { id: "b", event_type: "intrusion", severity: "critical", score: 0.9, started_at: "2026-01-02T14:30:00Z",
      sources: [{ kind: "person", ref: "d1" }] };
    const after = applyLiveEvent(data, live, {}, NOW);
    expect(ids(after)).toEqual([["c", "b", "a"]]);
    const added = after!.pages[0]!.results[1]!;
    expect([added.status, added.severity, added.score, added.acknowledged_by_email]).toEqual(["open", "critical", 0.9, null]);
    expect(applyLiveEvent(data, live, { severity: ["low"] }, NOW)).toBe(data); // filtered out: unchanged
    expect(applyLiveEvent(data, live, { status: ["acknowledged"] }, NOW)).toBe(data);
  });

  it("updates the row already there but keeps what operators decided", () => {
    const data = pages([[row("a", "2026-01-02T14:00:00Z", { status: "acknowledged", acknowledged_by_email: "op@x" })], null]);
    const after = applyLiveEvent(data, { id: "a", severity: "critical", occurrences: 3, ended_at: "2026-01-02T14:01:00Z" }, {}, NOW);
    const updated = after!.pages[0]!.results[0]!;
    expect([updated.status, updated.acknowledged_by_email, updated.severity, updated.occurrences, updated.ended_at])
      .toEqual(["acknowledged", "op@x", "critical", 3, "2026-01-02T14:01:00Z"]);
  });

  it("leaves an event older than everything loaded to the pages still to come", () => {
    const data = pages([[row("c", "2026-01-02T14:50:00Z")], "cursor"]);
    const old = { id: "z", event_type: "intrusion", severity: "high", started_at: "2026-01-02T10:00:00Z" };
    expect(applyLiveEvent(data, old, {}, NOW)).toBe(data);
    const complete = pages([[row("c", "2026-01-02T14:50:00Z")], null]);
    expect(ids(applyLiveEvent(complete, old, {}, NOW))).toEqual([["c", "z"]]);
  });

  it("ignores a message it cannot make a row of", () => {
    const data = pages([[], null]);
    expect(applyLiveEvent(data, { id: "x", severity: "bogus", event_type: "t", started_at: "2026-01-02T14:00:00Z" }, {}, NOW)).toBe(data);
  });
});
