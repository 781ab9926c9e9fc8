import { describe, expect, it } from "vitest";

import { type FeedMessage, liveUrl, parseFeedMessage, prepend, severityOf } from "./messages";

const status = (id: string, s = "OFF"): FeedMessage => ({
  type: "device_status_update", id, time: "2026-12-06T18:00:00Z", device_id: "d1", status: s, previous: "ON", reason: "",
});

describe("live feed", () => {
  it("connects where control says, else to the page's own origin", () => {
    expect(liveUrl("ws://vigia.local:8003/api/v1/ws", { protocol: "http:", host: "vigia.local:8000" })).toBe(
      "ws://vigia.local:8003/api/v1/ws",
    );
    expect(liveUrl("", { protocol: "https:", host: "vigia.example.com" })).toBe("wss://vigia.example.com/api/v1/ws");
    expect(liveUrl(null, { protocol: "http:", host: "127.0.0.1:5173" })).toBe("ws://127.0.0.1:5173/api/v1/ws");
  });

  it("keeps feed messages and drops the feed's own and unreadable ones", () => {
    expect(parseFeedMessage(JSON.stringify(status("m1")))?.type).toBe("device_status_update");
    expect(parseFeedMessage('{"type": "pong", "time": 1}')).toBeNull();
    expect(parseFeedMessage('{"type": "new_event"}')).toBeNull();
    expect(parseFeedMessage("not json")).toBeNull();
    expect(parseFeedMessage("null")).toBeNull();
  });

  it("shows newest first, bounded, each message once", () => {
    let list: FeedMessage[] = [];
    for (const id of ["a", "b", "c", "b"]) list = prepend(list, status(id), 2);
    expect(list.map((m) => m.id)).toEqual(["c", "b"]);
  });

  it("colours by severity", () => {
    expect(severityOf(status("x", "OFF"))).toBe("warning");
    expect(severityOf(status("x", "ON"))).toBe("info");
    expect(severityOf({ type: "new_event", id: "e", time: "t", change: "created", event: { id: "e", severity: "critical" } }))
      .toBe("critical");
  });
});
