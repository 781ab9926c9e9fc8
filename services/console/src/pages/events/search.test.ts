import { describe, expect, it } from "vitest";

import { apiQuery, matches, parseEventSearch, searchParams, type EventRow } from "./search";

const NOW = new Date("2026-01-02T15:00:00Z");
const CAMERA = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const DEVICE = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c";

function row(fields: Partial<EventRow>): EventRow {
  return {
    id: "e1", time: "2026-01-02T14:30:00Z", ended_at: null, event_type: "intrusion", severity: "high", score: 0.8,
    site: null, sources: [], description: "", occurrences: 1, status: "open", classification: "unclassified",
    notes: "", acknowledged_by: null, acknowledged_by_email: null, acknowledged_at: null, acknowledgement_note: "",
    resolved_by: null, resolved_by_email: null, resolved_at: null, resolution_note: "", updated_at: "2026-01-02T14:30:00Z",
    false_alarm_score: null, false_alarm_model: null, likely_false_alarm: false, ...fields,
  };
}

describe("the events filters in the URL", () => {
  it("keeps only valid values and round-trips through the URL form", () => {
    const search = parseEventSearch({ status: "open,done,resolved", severity: "apocalyptic", type: " door_forced ",
      camera: CAMERA.toUpperCase(), hours: 24, extra: "x" });
    expect(search).toEqual({ status: ["open", "resolved"], type: "door_forced", camera: CAMERA, hours: 24 });
    expect(parseEventSearch(searchParams(search))).toEqual(search);
    expect(searchParams(search)).toEqual({ status: "open,resolved", type: "door_forced", camera: CAMERA, hours: 24 });
  });

  it("refuses a camera that is no id, an unknown range, and lets explicit bounds win over a range", () => {
    expect(parseEventSearch({ camera: "gate", device: "12", hours: 5 })).toEqual({});
    expect(parseEventSearch({ since: "2026-01-02T10:00:00-03:00", until: "nonsense", hours: 24 }))
      .toEqual({ since: "2026-01-02T13:00:00.000Z" });
    // A type typed as digits comes back from the router as a number: still a type.
    expect(parseEventSearch({ type: 42 })).toEqual({ type: "42" });
  });

  it("asks control for the same filters, a range as a start back from now", () => {
    expect(apiQuery({ status: ["open"], severity: ["critical", "high"], type: "intrusion", device: DEVICE, hours: 1 }, NOW))
      .toEqual({ status: ["open"], severity: ["critical", "high"], event_type: "intrusion", device: DEVICE,
        since: "2026-01-02T14:00:00.000Z" });
  });

  it("matches an event in the browser as control would", () => {
    const event = row({ sources: [{ kind: "person", ref: "d", camera: CAMERA }] });
    expect(matches({}, event, NOW)).toBe(true);
    expect(matches({ status: ["acknowledged"] }, event, NOW)).toBe(false);
    expect(matches({ severity: ["high"], type: "intrusion", camera: CAMERA }, event, NOW)).toBe(true);
    expect(matches({ device: DEVICE }, event, NOW)).toBe(false);
    expect(matches({ hours: 1 }, event, NOW)).toBe(true);
    expect(matches({ hours: 1 }, row({ time: "2026-01-02T13:59:59Z" }), NOW)).toBe(false);
    expect(matches({ until: "2026-01-02T14:30:00Z" }, event, NOW)).toBe(false); // until is exclusive
  });
});

describe("the false-alarm mark filter", () => {
  it("lives in the URL as likely=true|false and asks control for likely_false_alarm", () => {
    expect(parseEventSearch({ likely: "true" })).toEqual({ likely: true });
    expect(parseEventSearch({ likely: false })).toEqual({ likely: false });
    expect(parseEventSearch({ likely: "maybe" })).toEqual({});
    expect(searchParams({ likely: false })).toEqual({ likely: false });
    expect(apiQuery({ likely: true }, NOW)).toEqual({ likely_false_alarm: true });
  });

  it("keeps a live event in the list only when its mark matches", () => {
    expect(matches({ likely: true }, row({ likely_false_alarm: true, false_alarm_score: 0.9 }), NOW)).toBe(true);
    expect(matches({ likely: true }, row({}), NOW)).toBe(false);
    expect(matches({ likely: false }, row({}), NOW)).toBe(true);
  });
});
