import { describe, expect, it } from "vitest";

import { matches } from "./filter";

describe("matches", () => {
  const camera = { name: "Portão Norte", site: "Matriz", location: "Estacionamento B" };

  it("finds by name, site or place, ignoring case and accents", () => {
    expect(matches(camera, "portao")).toBe(true);
    expect(matches(camera, "MATRIZ")).toBe(true);
    expect(matches(camera, " estacionamento b ")).toBe(true);
    expect(matches(camera, "sul")).toBe(false);
  });

  it("keeps everything without a filter", () => {
    expect(matches(camera, undefined)).toBe(true);
    expect(matches(camera, "  ")).toBe(true);
  });
});
