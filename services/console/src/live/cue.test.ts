import { describe, expect, it } from "vitest";

import { chooseSound, isCritical, soundChosen } from "./cue";
import type { FeedMessage } from "./messages";

const event = (severity: string, change: "created" | "updated" = "created"): FeedMessage => ({
  type: "new_event", id: `m-${severity}-${change}`, time: "2026-12-07T02:00:00Z", change,
  event: { id: "e1", event_type: "correlated_anomaly", severity },
});

describe("the critical-event cue", () => {
  it("is for a critical event when it is created, not its updates nor other severities or messages", () => {
    expect(isCritical(event("critical"))).toBe(true);
    expect(isCritical(event("critical", "updated"))).toBe(false);
    expect(isCritical(event("high"))).toBe(false);
    expect(isCritical({ type: "device_status_update", id: "d", time: "t", device_id: "d1", status: "OFF",
      previous: "ON", reason: "" })).toBe(false);
  });

  it("sounds only where the operator turned it on, remembered in the browser", () => {
    const saved = new Map<string, string>();
    const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => void saved.set(k, v) };
    expect(soundChosen(storage)).toBe(false);
    chooseSound(true, storage);
    expect(soundChosen(storage)).toBe(true);
    chooseSound(false, storage);
    expect(soundChosen(storage)).toBe(false);
  });
});
