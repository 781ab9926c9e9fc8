import { describe, expect, it } from "vitest";

import { allows } from "./rank";

describe("allows", () => {
  it("ranks admin over operator over viewer", () => {
    expect(allows("admin", "operator")).toBe(true);
    expect(allows("operator", "operator")).toBe(true);
    expect(allows("operator", "admin")).toBe(false);
    expect(allows("viewer", "operator")).toBe(false);
    expect(allows("viewer", "viewer")).toBe(true);
  });

  it("allows nothing when signed out", () => {
    expect(allows(undefined, "viewer")).toBe(false);
  });
});
