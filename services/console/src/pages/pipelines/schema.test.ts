import { describe, expect, it } from "vitest";

import type { RJSFSchema } from "@rjsf/utils";

import { check, formSchema, formUiSchema, formValidator } from "./schema";

const camera = {
  type: "object", additionalProperties: false,
  properties: {
    camera: { anyOf: [{ format: "uuid", type: "string" }, { type: "null" }], default: null },
    cameras: { items: { format: "uuid", type: "string" }, maxItems: 2, type: "array" },
  },
};

describe("formSchema", () => {
  it("turns pydantic's X | None into a nullable X", () => {
    const schema = formSchema(camera) as { properties: { camera: Record<string, unknown> } };
    expect(schema.properties.camera).toEqual({ format: "uuid", type: ["string", "null"] });
    const severity = formSchema({ anyOf: [{ enum: ["low", "high"], type: "string" }, { type: "null" }], default: null });
    expect(severity).toEqual({ enum: ["low", "high"], type: ["string", "null"] });
  });

  it("gives untyped properties the JSON value field", () => {
    const ui = formUiSchema({ properties: { field: { type: "string" }, value: { default: null, title: "Value" } } });
    expect(ui.value).toEqual({ "ui:field": "jsonValue" });
    expect(ui.field).toBeUndefined();
  });
});

describe("check (the forms' validator)", () => {
  it("accepts what the server accepts", () => {
    expect(check(formSchema(camera), { camera: null, cameras: [] })).toEqual([]);
    expect(check(camera, { camera: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" })).toEqual([]);
  });

  it("names the field of each problem", () => {
    expect(check(camera, { camera: "nope", cameras: ["a", "b", "c"] }).map((f) => f.path.join("."))).toEqual([
      "camera", "cameras", "cameras.0", "cameras.1", "cameras.2",
    ]);
    const bounded = { type: "object", required: ["field"], properties: { field: { type: "string" }, confidence: { type: "number", minimum: 0, maximum: 1 } } };
    expect(check(bounded, { confidence: 2 })).toEqual([
      { path: ["field"], message: "obrigatório" }, { path: ["confidence"], message: "deve ser <= 1" },
    ]);
  });

  it("follows local $refs", () => {
    const timer = {
      $defs: { W: { type: "object", properties: { start: { type: "string", format: "time" } } } },
      type: "object", properties: { windows: { type: "array", items: { $ref: "#/$defs/W" } } },
    };
    expect(check(timer, { windows: [{ start: "25:00" }] })).toEqual([{ path: ["windows", "0", "start"], message: "deve ser um horário HH:MM" }]);
    expect(formValidator.isValid(timer as RJSFSchema, { windows: [{ start: "08:30" }] }, timer as RJSFSchema)).toBe(true);
  });

  it("gives RJSF an error schema by field", () => {
    const result = formValidator.validateFormData({ camera: "x" }, camera as RJSFSchema);
    expect(result.errorSchema).toEqual({ camera: { __errors: ["deve ser um UUID"] } });
  });
});
