import { describe, expect, it } from "vitest";

import {
  applyLiveEvent, applyTriage, type EventPages, mayNowBelong, rowFromLive, type TriagedEvent, triagedRow,
} from "./live";
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

// What live sends for control's event.triaged (services/live/vigia/live/wire.py), the ``event`` part.
function triaged(id: string, fields: Partial<TriagedEvent> = {}): TriagedEvent {
  return {
    id, event_type: "intrusion", severity: "high", status: "acknowledged", classification: "unclassified", notes: "",
    acknowledged_by: "u-bia", acknowledged_by_email: "bia@demo.vigia.local", acknowledged_at: "2026-01-02T14:55:00.123456000Z",
    acknowledgement_note: "indo ver", resolved_by: null, resolved_by_email: null, resolved_at: null, resolution_note: "",
    updated_at: "2026-01-02T14:55:00.123456000Z", ...fields,
  };
}

describe("another operator's decision into the loaded lists", () => {
  it("gives the row its new status, who and when, and keeps what the data plane wrote", () => {
    const data = pages([[row("a", "2026-01-02T14:00:00Z", { occurrences: 4, score: 0.8 }), row("b", "2026-01-02T13:00:00Z")], null]);
    const after = applyTriage(data, triaged("a"), {}, NOW);
    const updated = after!.pages[0]!.results[0]!;
    expect([updated.status, updated.acknowledged_by_email, updated.acknowledged_at, updated.acknowledgement_note])
      .toEqual(["acknowledged", "bia@demo.vigia.local", "2026-01-02T14:55:00.123456000Z", "indo ver"]);
    expect([updated.occurrences, updated.score, updated.event_type]).toEqual([4, 0.8, "intrusion"]);
    expect(after!.pages[0]!.results[1]).toBe(data.pages[0]!.results[1]); // the other rows untouched
    expect(applyTriage(after, triaged("a"), {}, NOW)).toBe(after); // the same decision again: nothing new
    expect(applyTriage(data, triaged("z"), {}, NOW)).toBe(data); // not in this list
  });

  it("takes the row out of a list whose filters no longer select it, as a refetch would", () => {
    const data = pages([[row("a", "2026-01-02T14:00:00Z"), row("b", "2026-01-02T13:00:00Z")], "cursor"]);
    expect(ids(applyTriage(data, triaged("a"), { status: ["open"] }, NOW))).toEqual([["b"]]);
    const resolved = triaged("b", { status: "resolved", resolved_by_email: "bia@demo.vigia.local", resolved_at: "2026-01-02T14:56:00Z" });
    expect(ids(applyTriage(data, resolved, { status: ["open", "acknowledged"] }, NOW))).toEqual([["a"]]);
    const kept = applyTriage(data, triaged("a"), { status: ["open", "acknowledged"] }, NOW);
    expect(ids(kept)).toEqual([["a", "b"]]);
    expect(kept!.pages[0]!.results[0]!.status).toBe("acknowledged");
  });

  it("never takes a status back: a late acknowledgement leaves a resolved row as it is", () => {
    const done = row("a", "2026-01-02T14:00:00Z", { status: "resolved", resolved_by_email: "ana@demo.vigia.local" });
    expect(triagedRow(done, triaged("a"))).toBe(done);
    const verdict = triagedRow(done, triaged("a", { status: "resolved", classification: "false_positive", notes: "gato" }));
    expect([verdict.status, verdict.classification, verdict.notes]).toEqual(["resolved", "false_positive", "gato"]);
  });

  it("says which lists without the event may now have to show it", () => {
    const acknowledged = triaged("a");
    expect(mayNowBelong({}, acknowledged)).toBe(false); // it was in there already, or further down
    expect(mayNowBelong({ status: ["open"] }, acknowledged)).toBe(false);
    expect(mayNowBelong({ status: ["acknowledged"] }, acknowledged)).toBe(true);
    expect(mayNowBelong({ status: ["acknowledged"], severity: ["critical"] }, acknowledged)).toBe(false);
    expect(mayNowBelong({ status: ["acknowledged"], severity: ["high"], type: "intrusion" }, acknowledged)).toBe(true);
    expect(mayNowBelong({ status: ["acknowledged"], type: "tamper" }, acknowledged)).toBe(false);
  });
});

describe("the false-alarm score on the feed", () => {
  it("takes a scored message's score and mark, and keeps them through an unscored update", () => {
    const data = pages([[row("a", "2026-01-02T14:00:00Z")], null]);
    const scored = applyLiveEvent(data, { id: "a", false_alarm_score: 0.93, false_alarm_model: "m2", likely_false_alarm: true }, {}, NOW);
    const marked = scored!.pages[0]!.results[0]!;
    expect([marked.false_alarm_score, marked.false_alarm_model, marked.likely_false_alarm]).toEqual([0.93, "m2", true]);
    const unscored = applyLiveEvent(scored, { id: "a", severity: "critical", likely_false_alarm: false }, {}, NOW);
    const kept = unscored!.pages[0]!.results[0]!;
    expect([kept.severity, kept.false_alarm_score, kept.likely_false_alarm]).toEqual(["critical", 0.93, true]);
    expect(row("b", "2026-01-02T14:00:00Z").likely_false_alarm).toBe(false);
  });
});
