import { describe, expect, it } from "vitest";

import { safeRedirect } from "./redirect";

describe("the page after sign-in", () => {
  it("keeps a path of the console with its search", () => {
    expect(safeRedirect("/?hours=168")).toBe("/?hours=168");
    expect(safeRedirect("/events?severity=critical")).toBe("/events?severity=critical");
  });

  it("refuses other sites and anything that is not a path", () => {
    for (const target of ["//evil.example/x", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "", 3, null]) {
      expect(safeRedirect(target)).toBe("/");
    }
  });
});
