import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("@/app", () => ({ api: {} }));

const { staleKeyBatcher } = await import("./dashboard-queries");

describe("staleKeyBatcher", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("refetches each stale query once per interval however many messages arrive", () => {
    const invalidated: string[] = [];
    const batch = staleKeyBatcher((key) => invalidated.push(key.join("/")), 2_000);
    for (let i = 0; i < 200; i++) batch.add(i % 2 ? "device_status_update" : "plate_read");
    expect(invalidated).toEqual([]);
    vi.advanceTimersByTime(2_000);
    expect(invalidated.sort()).toEqual(["dashboard/summary", "devices", "passages"]);
    batch.add("new_event");
    vi.advanceTimersByTime(2_000);
    expect(invalidated.slice(3).sort()).toEqual(["dashboard", "events"]);
  });

  it("ignores types that make nothing stale and drops what is pending when cancelled", () => {
    const invalidate = vi.fn();
    const batch = staleKeyBatcher(invalidate, 1_000);
    batch.add("pipeline_status_update");
    batch.add("camera_health");
    batch.cancel();
    vi.advanceTimersByTime(5_000);
    expect(invalidate).not.toHaveBeenCalled();
  });
});
