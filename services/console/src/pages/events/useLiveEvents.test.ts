import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it, vi } from "vitest";

import { rowFromLive, type EventPages, type TriagedEvent } from "./live";
import type { EventRow, EventSearch } from "./search";

vi.mock("@/app", () => ({ api: {}, session: {} }));

const { applyTriageToCache } = await import("./useLiveEvents");

const NOW = new Date("2026-01-02T15:00:00Z");
const row = (id: string, time: string): EventRow =>
  rowFromLive({ id, event_type: "intrusion", severity: "high", started_at: time }, time)!;
const list = (...rows: EventRow[]): EventPages => ({ pages: [{ results: rows, next: null }], pageParams: [undefined] });
const listKey = (search: EventSearch) => ["events", "list", search];

// As live sends control's event.triaged: Bia resolved the event another operator is looking at.
const RESOLVED: TriagedEvent = {
  id: "a", event_type: "intrusion", severity: "high", status: "resolved", classification: "unclassified", notes: "",
  acknowledged_by: "u-bia", acknowledged_by_email: "bia@demo.vigia.local", acknowledged_at: "2026-01-02T14:58:00.000001000Z",
  acknowledgement_note: "", resolved_by: "u-bia", resolved_by_email: "bia@demo.vigia.local",
  resolved_at: "2026-01-02T14:58:00.000001000Z", resolution_note: "portão fechado", updated_at: "2026-01-02T14:58:00.000001000Z",
};

describe("another operator's decision in the Query cache", () => {
  it("updates the open event's page and every loaded list, and asks again only a list it may join", () => {
    const client = new QueryClient();
    const a = row("a", "2026-01-02T14:00:00Z");
    const b = row("b", "2026-01-02T13:00:00Z");
    client.setQueryData(listKey({}), list(a, b));
    client.setQueryData(listKey({ status: ["open"] }), list(a, b));
    client.setQueryData(listKey({ status: ["resolved"] }), list());
    client.setQueryData(listKey({ status: ["acknowledged"] }), list());
    client.setQueryData(["events", "detail", "a"], a);
    const untouched = client.getQueryData(["events", "detail", "a"]);

    applyTriageToCache(client, RESOLVED, NOW);

    const detail = client.getQueryData<EventRow>(["events", "detail", "a"])!;
    expect([detail.status, detail.resolved_by_email, detail.resolution_note, detail.acknowledged_by_email])
      .toEqual(["resolved", "bia@demo.vigia.local", "portão fechado", "bia@demo.vigia.local"]);
    expect(untouched).not.toBe(detail);
    const all = client.getQueryData<EventPages>(listKey({}))!.pages[0]!.results;
    expect(all.map((r) => [r.id, r.status])).toEqual([["a", "resolved"], ["b", "open"]]);
    expect(client.getQueryData<EventPages>(listKey({ status: ["open"] }))!.pages[0]!.results.map((r) => r.id)).toEqual(["b"]);
    const state = (search: EventSearch) => client.getQueryCache().find({ queryKey: listKey(search), exact: true })!.state;
    expect(state({ status: ["resolved"] }).isInvalidated).toBe(true); // it now belongs there: asked again
    expect(state({ status: ["acknowledged"] }).isInvalidated).toBe(false);
    expect(state({}).isInvalidated).toBe(false); // edited in place, nothing refetched
  });

  it("leaves alone a cache that does not hold the event", () => {
    const client = new QueryClient();
    const data = list(row("b", "2026-01-02T13:00:00Z"));
    client.setQueryData(listKey({}), data);
    applyTriageToCache(client, RESOLVED, NOW);
    expect(client.getQueryData(listKey({}))).toBe(data);
    expect(client.getQueryData(["events", "detail", "a"])).toBeUndefined();
  });
});
