import { describe, expect, it } from "vitest";

import { hourlySeries, severitySeries } from "./dashboard-charts";

const hours = (start: string, counts: number[]) =>
  counts.map((count, i) => ({ hour: new Date(Date.parse(start) + i * 3_600_000).toISOString(), count }));

describe("hourlySeries", () => {
  it("labels each hour on the organization's clock, 24-hour", () => {
    const series = hourlySeries(hours("2026-01-02T14:00:00Z", [0, 3, 1]), "America/Manaus");
    expect(series.labels).toEqual(["10:00", "11:00", "12:00"]);
    expect(series.counts).toEqual([0, 3, 1]);
    expect(series.peak).toEqual({ label: "11:00", count: 3 });
  });

  it("adds the day over more than 24 hours, and has no peak when nothing happened", () => {
    const series = hourlySeries(hours("2026-01-02T02:00:00Z", new Array(30).fill(0)), "America/Sao_Paulo");
    expect(series.labels[0]).toBe("01/01 23:00");
    expect(series.labels[29]).toBe("03/01 04:00");
    expect(series.peak).toBeNull();
  });
});

describe("severitySeries", () => {
  it("puts the most severe first and fills the missing ones with zero", () => {
    expect(severitySeries({ low: 4, critical: 1 })).toEqual([
      { severity: "critical", count: 1 }, { severity: "high", count: 0 },
      { severity: "medium", count: 0 }, { severity: "low", count: 4 }]);
  });
});
