import { describe, expect, it } from "vitest";

import { matches, parseCamerasSearch } from "./filter";

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

describe("parseCamerasSearch", () => {
  it("keeps a filter and a known tile size, drops the rest", () => {
    expect(parseCamerasSearch({ q: "portão", size: "s" })).toEqual({ q: "portão", size: "s" });
    expect(parseCamerasSearch({ q: "  ", size: "xl" })).toEqual({});
    expect(parseCamerasSearch({ q: 3, size: "m" })).toEqual({}); // m is the default: not in the URL
    expect(parseCamerasSearch({ q: "x".repeat(300) }).q).toHaveLength(100);
  });
});
