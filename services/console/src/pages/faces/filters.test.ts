import { describe, expect, it } from "vitest";

import { apiQuery, checkPerson, formatDistance, isFiltered, validateFaceSearch } from "./filters";

const ID = "0190a3c2-7d1e-7a00-8000-000000000001";

describe("the face search's URL", () => {
  it("keeps valid filters only", () => {
    expect(validateFaceSearch({ person: ID.toUpperCase(), camera: "nope", known: "false", since: "2026-12-01T10:00:00-03:00",
      until: "not a time" })).toEqual({ person: ID, known: false, since: "2026-12-01T13:00:00.000Z" });
    expect(validateFaceSearch({ known: true })).toEqual({ known: true });
    expect(validateFaceSearch({ known: "maybe" })).toEqual({});
  });

  it("asks control for known as text", () => {
    expect(apiQuery({ camera: ID, known: false })).toEqual({ camera: ID, known: "false" });
    expect(apiQuery({ known: true })).toEqual({ known: "true" });
    expect(apiQuery({ person: ID })).toEqual({ person: ID });
  });

  it("says whether anything is filtered", () => {
    expect(isFiltered({})).toBe(false);
    expect(isFiltered({ camera: ID })).toBe(true);
  });
});

describe("the enrolment form", () => {
  it("needs a name and a consent note, trimmed", () => {
    expect(checkPerson({ name: "  Ana ", consent_note: " assinou o termo " })).toEqual({
      ok: true, value: { name: "Ana", consent_note: "assinou o termo" } });
    expect(checkPerson({ name: " ", consent_note: "" })).toEqual({
      ok: false, errors: { name: "required", consent_note: "required" } });
    expect(checkPerson({ name: "x".repeat(201), consent_note: "ok" })).toEqual({ ok: false, errors: { name: "tooLong" } });
  });

  it("shows a distance with two decimals", () => {
    expect(formatDistance(0.4213, "en")).toBe("0.42");
    expect(formatDistance(0.4213, "pt-BR")).toBe("0,42");
    expect(formatDistance(null, "en")).toBe("—");
  });
});
