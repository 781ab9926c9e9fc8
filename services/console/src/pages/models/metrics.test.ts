import { describe, expect, it } from "vitest";

import { formatMetric, runsPollInterval, shortHash, unfinished } from "./metrics";

describe("the models page's wording", () => {
  it("shows a metric as a percentage in the reader's language, a dash when unknown", () => {
    expect(formatMetric(0.9643, "en")).toBe("96.4%");
    expect(formatMetric(0.9643, "pt-BR")).toMatch(/^96,4\s?%$/);
    expect(formatMetric(1, "en")).toBe("100.0%");
    expect(formatMetric(null, "en")).toBe("—");
    expect(formatMetric(undefined, "en")).toBe("—");
    expect(formatMetric(Number.NaN, "en")).toBe("—");
  });

  it("shortens the data set's hash to 12 digits", () => {
    expect(shortHash("a".repeat(64))).toBe("a".repeat(12));
  });

  it("polls while a run is queued or running, not once all finished", () => {
    expect(unfinished({ status: "queued" })).toBe(true);
    expect(unfinished({ status: "running" })).toBe(true);
    expect(unfinished({ status: "failed" })).toBe(false);
    expect(runsPollInterval([{ status: "succeeded" }, { status: "running" }])).toBe(3_000);
    expect(runsPollInterval([{ status: "succeeded" }, { status: "failed" }])).toBe(false);
    expect(runsPollInterval(undefined)).toBe(false);
    expect(runsPollInterval([])).toBe(false);
  });
});
