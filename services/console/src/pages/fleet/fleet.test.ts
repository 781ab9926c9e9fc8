import { describe, expect, it } from "vitest";

import { statusesOf, toggle, validateFleetSearch } from "./filters";
import { boundsOf, fleetFeatures, offlineStyle } from "./mapData";
import { fallbackParts, forecastColumns, marksWithin, metricsPresent, toSeries } from "./series";

describe("fleet filters in the URL", () => {
  it("keep known statuses and kinds in their order, from a list or a comma-separated value", () => {
    expect(validateFleetSearch({ q: " portão ", status: ["OFF", "bogus", "ON"], kind: "sensor,phone" }))
      .toEqual({ q: "portão", status: "ON,OFF", kind: "phone,sensor" });
    expect(validateFleetSearch({ status: "nope", q: "  " })).toEqual({});
  });

  it("toggle a value in and out, nothing left meaning no filter", () => {
    const order = ["ON", "WARNING", "OFF"] as const;
    expect(toggle(undefined, "OFF", order)).toBe("OFF");
    expect(toggle("OFF", "ON", order)).toBe("ON,OFF");
    expect(toggle("OFF", "OFF", order)).toBeUndefined();
    expect(statusesOf({ status: "WARNING,OFF" })).toEqual(["WARNING", "OFF"]);
  });
});

describe("the fleet map", () => {
  const devices = [
    { id: "d1", name: "portão", status: "ON", latitude: -3.1, longitude: -60.02 },
    { id: "d2", name: "sem gps", status: "OFF", latitude: null, longitude: null },
    { id: "d3", name: "fora do mundo", status: "WARNING", latitude: 120, longitude: 10 },
  ];
  const cameras = [{ id: "c1", name: "entrada", status: "online", latitude: -3.2, longitude: -59.9 }];

  it("draws only what has coordinates and lists the rest", () => {
    const { points, unplaced } = fleetFeatures(devices, cameras);
    expect(points.features.map((f) => [f.properties.kind, f.properties.id, f.geometry.coordinates]))
      .toEqual([["camera", "c1", [-59.9, -3.2]], ["device", "d1", [-60.02, -3.1]]]);
    expect(unplaced.map((item) => item.id)).toEqual(["d2", "d3"]);
    expect(boundsOf(points)).toEqual([-60.02, -3.2, -59.9, -3.1]);
    expect(boundsOf({ type: "FeatureCollection", features: [] })).toBeNull();
  });

  it("has a built-in style that fetches nothing", () => {
    const style = JSON.stringify(offlineStyle(false));
    expect(style).not.toMatch(/https?:|glyphs|sprite|tiles/);
  });
});

describe("the signal chart's data", () => {
  const rows = [
    { time: "2026-12-06T10:00:02Z", mag_magnitude: 52, audio_peak: null },
    { time: "2026-12-06T10:00:00Z", mag_magnitude: 50, audio_peak: null },
    { time: "2026-12-06T10:00:01Z", mag_magnitude: null, audio_peak: null },
    { time: "2026-12-06T10:00:02Z", mag_magnitude: 53, audio_peak: null },
  ];

  it("is oldest first, one value per instant, gaps kept as null", () => {
    const t0 = Date.parse("2026-12-06T10:00:00Z") / 1000;
    expect(toSeries(rows, "mag_magnitude")).toEqual([[t0, t0 + 1, t0 + 2], [50, null, 53]]);
    expect(metricsPresent(rows)).toEqual(["mag_magnitude"]);
  });

  it("marks only the anomalies inside the window", () => {
    const [times] = toSeries(rows, "mag_magnitude");
    const marks = marksWithin([
      { time: "2026-12-06T10:00:01Z", kind: "magnetic", severity: "high" },
      { time: "2026-12-06T09:00:00Z", kind: "magnetic", severity: "low" },
    ], times);
    expect(marks).toEqual([{ x: times[1], label: "magnetic", severity: "high" }]);
  });
});

describe("the forecast chart's data", () => {
  it("puts the resampled readings, then the forecast's mean and band, on one ascending time axis", () => {
    const t0 = Date.parse("2026-12-06T10:00:00Z") / 1000;
    const columns = forecastColumns({
      history: [{ t: "2026-12-06T10:01:00Z", value: 51 }, { t: "2026-12-06T10:00:00Z", value: 50 },
        { t: "2026-12-06T10:02:00Z", value: null }],
      points: [{ t: "2026-12-06T10:03:00Z", mean: 52, lower: 49, upper: 55 },
        { t: "2026-12-06T10:02:00Z", mean: 51.5, lower: 49.5, upper: 53.5 }],
      anomalies: [],
    });
    expect(columns).toEqual([
      [t0, t0 + 60, t0 + 120, t0 + 180],
      [50, 51, null, null],
      [null, null, 51.5, 52],
      [null, null, 49.5, 49],
      [null, null, 53.5, 55],
    ]);
  });
});

describe("the forecast's fallback sentence", () => {
  it("is taken apart to be said in the console's language", () => {
    expect(fallbackParts("212 steps of history, ttm needs 512: AutoETS")).toEqual(
      { have: 212, model: "ttm", need: 512, standIn: "AutoETS", more: null });
    expect(fallbackParts("20 steps of history, auto_ets needs 48: seasonal naive (only 20 steps)")).toEqual(
      { have: 20, model: "auto_ets", need: 48, standIn: "seasonal naive", more: "only 20 steps" });
  });

  it("of another shape is shown as it came", () => {
    expect(fallbackParts("the model could not be loaded")).toBeNull();
  });
});
