import { describe, expect, it } from "vitest";

import { exportFileName, normalisePlate, passageFilters, searchable, validatePlatesSearch, wallTimeToIso } from "./filters";

describe("plates search params", () => {
  it("keep what a shared link holds and drop what is malformed", () => {
    expect(validatePlatesSearch({
      q: " abc1d2o ", camera: "0193A7C8-1B2C-7D3E-8F40-123456789ABC", site: "portão norte",
      since: "2026-12-06T08:00", until: "yesterday",
    })).toEqual({ q: "abc1d2o", camera: "0193a7c8-1b2c-7d3e-8f40-123456789abc", site: "portão norte", since: "2026-12-06T08:00" });
    expect(validatePlatesSearch({ camera: "../admin", q: "", since: "2026-12-06 08:00", until: 5 })).toEqual({});
  });

  it("normalise a plate the way the API compares it", () => {
    expect(normalisePlate("abc-1d23")).toBe("ABC1D23");
    expect(normalisePlate(" ABC 1234 ")).toBe("ABC1234");
    expect(searchable("abc-123")).toBe(true);
    expect(searchable("ab1")).toBe(false);
    expect(searchable("ABC1D2345")).toBe(false);
    expect(searchable(undefined)).toBe(false);
  });
});

describe("the period in the organization's zone", () => {
  it("turns wall-clock time into the instant", () => {
    expect(wallTimeToIso("2026-12-06T08:00", "America/Manaus")).toBe("2026-12-06T12:00:00.000Z");
    expect(wallTimeToIso("2026-12-06T08:00", "UTC")).toBe("2026-12-06T08:00:00.000Z");
    // Before and after a DST change (New York, 8 March 2026).
    expect(wallTimeToIso("2026-03-07T12:00", "America/New_York")).toBe("2026-03-07T17:00:00.000Z");
    expect(wallTimeToIso("2026-03-09T12:00", "America/New_York")).toBe("2026-03-09T16:00:00.000Z");
  });

  it("builds the list and export query without the typed plate", () => {
    expect(passageFilters({ q: "ABC1D23", camera: "c", site: "s", since: "2026-12-06T08:00" }, "America/Sao_Paulo"))
      .toEqual({ camera: "c", site: "s", since: "2026-12-06T11:00:00.000Z" });
    expect(passageFilters({}, "UTC")).toEqual({});
  });

  it("names the export after what it holds", () => {
    expect(exportFileName("ABC1D23", { since: "2026-12-06T08:00" })).toBe("passagens-ABC1D23-2026-12-06T0800.csv");
    expect(exportFileName(undefined, {})).toBe("passagens.csv");
  });
});
