import { describe, expect, it } from "vitest";

import { isIdle, latestInput } from "./idle";
import { resolveTheme, toggled } from "./theme";

describe("theme", () => {
  it("follows the system until the operator chooses", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
    expect(resolveTheme("dark", false)).toBe("dark");
    expect(toggled("dark")).toBe("light");
    expect(toggled("light")).toBe("dark");
  });
});

describe("idle time-out", () => {
  it("is idle once the minutes have passed since the last input, not before", () => {
    expect(isIdle(0, 30 * 60_000 - 1, 30)).toBe(false);
    expect(isIdle(0, 30 * 60_000, 30)).toBe(true);
    expect(isIdle(0, 60_000, 1)).toBe(true);
  });

  it("counts input in another tab, and ignores what it cannot read", () => {
    expect(latestInput(1_000, "5000")).toBe(5_000);
    expect(latestInput(9_000, "5000")).toBe(9_000);
    expect(latestInput(9_000, null)).toBe(9_000);
    expect(latestInput(9_000, "soon")).toBe(9_000);
  });
});
