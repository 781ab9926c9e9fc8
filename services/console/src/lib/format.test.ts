import { describe, expect, it } from "vitest";

import { formatCount, formatDateTime, formatTime, startOfDay, zoneOffsetMs } from "./format";

describe("times in the organization's zone", () => {
  const instant = new Date("2026-12-06T18:04:05Z");

  it("writes pt-BR day/month/year with a 24-hour clock in the org's zone", () => {
    expect(formatDateTime(instant, "America/Sao_Paulo")).toBe("06/12/2026 15:04:05");
    expect(formatDateTime(instant, "Asia/Tokyo")).toBe("07/12/2026 03:04:05");
  });

  it("uses 24 hours even in English", () => {
    expect(formatTime(instant, "UTC", "en")).toBe("18:04:05");
    expect(formatTime("2026-12-06T00:30:00Z", "UTC", "en")).toBe("00:30:00");
  });

  it("ignores the browser's own zone", () => {
    expect(formatTime(instant, "America/Manaus")).toBe("14:04:05");
  });

  it("finds midnight of the org's day, not of UTC's", () => {
    // 01:00 UTC on the 7th is still the 6th in São Paulo (UTC-3): the day began at 03:00 UTC on the 6th.
    expect(startOfDay(new Date("2026-12-07T01:00:00Z"), "America/Sao_Paulo").toISOString()).toBe(
      "2026-12-06T03:00:00.000Z",
    );
    expect(startOfDay(new Date("2026-12-07T01:00:00Z"), "UTC").toISOString()).toBe("2026-12-07T00:00:00.000Z");
  });

  it("finds midnight across a DST change", () => {
    // New York: 2026-03-08 02:00 jumps to 03:00; the day began at 05:00 UTC (UTC-5), noon is UTC-4.
    expect(zoneOffsetMs(new Date("2026-03-08T16:00:00Z"), "America/New_York")).toBe(-4 * 3600_000);
    expect(startOfDay(new Date("2026-03-08T16:00:00Z"), "America/New_York").toISOString()).toBe(
      "2026-03-08T05:00:00.000Z",
    );
  });
});

describe("counts", () => {
  it("marks a count that stopped at a page's end", () => {
    expect(formatCount(1234, false)).toBe("1.234");
    expect(formatCount(500, true)).toBe("500+");
    expect(formatCount(3, false, "en")).toBe("3");
  });
});
