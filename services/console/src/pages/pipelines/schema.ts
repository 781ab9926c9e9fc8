/**
 * The node catalogue's JSON Schemas (pydantic's) made ready for RJSF, and the forms' validator.
 *
 * The validator is ours, not @rjsf/validator-ajv8: Ajv compiles each schema with ``new Function``,
 * which the console's Content-Security-Policy (``script-src 'self'``, no unsafe-eval) refuses. It
 * checks the subset of JSON Schema the catalogue uses (types, enum, required, bounds, lengths,
 * items, anyOf, local $refs, uuid and time formats); the server validates every save in full and
 * its errors land on the same fields.
 */
import {
  ErrorSchemaBuilder, type RJSFSchema, type RJSFValidationError, type UiSchema, type ValidationData,
  type ValidatorType,
} from "@rjsf/utils";

type Schema = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?([+-]\d\d:\d\d|Z)?$/;

function isNullSchema(s: unknown): boolean {
  return typeof s === "object" && s !== null && (s as Schema).type === "null";
}

/**
 * ``anyOf: [X, {type: null}]`` (pydantic's ``X | None``) as X with ``type: [X.type, "null"]`` and no
 * null default, so RJSF draws X's field instead of an option picker; recursively, $defs included.
 */
export function formSchema(schema: Schema): Schema {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (!value || typeof value !== "object") return value;
    const s = value as Schema;
    const out: Schema = {};
    for (const [k, v] of Object.entries(s)) out[k] = walk(v);
    const anyOf = out.anyOf as Schema[] | undefined;
    if (Array.isArray(anyOf) && anyOf.length === 2 && anyOf.some(isNullSchema)) {
      const other = anyOf.find((x) => !isNullSchema(x)) as Schema;
      if (typeof other.type === "string" && !other.$ref) {
        delete out.anyOf;
        Object.assign(out, other, { type: [other.type, "null"] });
        // A null default is the field left empty (RJSF refuses it as a choice of an enum).
        if (out.default === null) delete out.default;
      }
    }
    return out;
  };
  return walk(schema) as Schema;
}

/** A uiSchema for ``schema``: untyped properties (a conditional's ``value``) get the JSON value field. */
export function formUiSchema(schema: Schema): UiSchema {
  const ui: UiSchema = { "ui:submitButtonOptions": { norender: true } };
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  for (const [name, property] of Object.entries(properties)) {
    if (!("type" in property) && !("anyOf" in property) && !("$ref" in property) && !("enum" in property)) {
      ui[name] = { "ui:field": "jsonValue" };
    }
  }
  return ui;
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function matchesType(value: unknown, type: unknown): boolean {
  const types = Array.isArray(type) ? type : [type];
  const actual = typeOf(value);
  return types.some((t) => t === actual || (t === "number" && actual === "integer"));
}

interface Found {
  path: string[];
  message: string;
}

function resolve(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref !== "string" || !ref.startsWith("#/")) return schema;
  let target: unknown = root;
  for (const part of ref.slice(2).split("/")) target = (target as Schema | undefined)?.[part];
  return { ...((target as Schema) ?? {}), ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$ref")) };
}

/** What is wrong with ``value`` against ``schema`` (the catalogue's subset of JSON Schema). */
export function check(schema: Schema, value: unknown, root: Schema = schema, path: string[] = []): Found[] {
  const s = resolve(schema, root);
  const out: Found[] = [];
  const fail = (message: string, at = path) => out.push({ path: at, message });
  if (value === undefined) return out;
  if (Array.isArray(s.anyOf)) {
    const options = s.anyOf as Schema[];
    if (options.some((option) => check(option, value, root, path).length === 0)) return out;
    const typed = options.filter((option) => !isNullSchema(option));
    if (typed.length === 1) return check(typed[0]!, value, root, path); // X | None: say what X needs
    fail("não corresponde a nenhuma opção");
    return out;
  }
  if (s.type !== undefined && !matchesType(value, s.type)) {
    const types = (Array.isArray(s.type) ? s.type : [s.type]).filter((t) => t !== "null");
    fail(`deve ser ${types.join(" ou ")}`);
    return out;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => e === value)) fail(`deve ser um de: ${s.enum.join(", ")}`);
  if (typeof value === "number") {
    if (typeof s.minimum === "number" && value < s.minimum) fail(`deve ser >= ${s.minimum}`);
    if (typeof s.maximum === "number" && value > s.maximum) fail(`deve ser <= ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && value <= s.exclusiveMinimum) fail(`deve ser > ${s.exclusiveMinimum}`);
    if (typeof s.exclusiveMaximum === "number" && value >= s.exclusiveMaximum) fail(`deve ser < ${s.exclusiveMaximum}`);
  }
  if (typeof value === "string") {
    if (typeof s.minLength === "number" && value.length < s.minLength) fail(`deve ter ao menos ${s.minLength} caractere(s)`);
    if (typeof s.maxLength === "number" && value.length > s.maxLength) fail(`deve ter no máximo ${s.maxLength} caracteres`);
    if (s.format === "uuid" && !UUID.test(value)) fail("deve ser um UUID");
    if (s.format === "time" && !TIME.test(value)) fail("deve ser um horário HH:MM");
  }
  if (Array.isArray(value)) {
    if (typeof s.minItems === "number" && value.length < s.minItems) fail(`deve ter ao menos ${s.minItems} item(ns)`);
    if (typeof s.maxItems === "number" && value.length > s.maxItems) fail(`deve ter no máximo ${s.maxItems} itens`);
    if (s.items && typeof s.items === "object") {
      value.forEach((item, i) => out.push(...check(s.items as Schema, item, root, [...path, String(i)])));
    }
  }
  if (typeOf(value) === "object") {
    const object = value as Record<string, unknown>;
    const properties = (s.properties ?? {}) as Record<string, Schema>;
    for (const name of (s.required as string[] | undefined) ?? []) {
      if (object[name] === undefined || object[name] === "") fail("obrigatório", [...path, name]);
    }
    for (const [name, property] of Object.entries(properties)) {
      out.push(...check(property, object[name], root, [...path, name]));
    }
  }
  return out;
}

/** RJSF's validator over :func:`check` (no code generation, so the CSP holds). */
export const formValidator: ValidatorType = {
  validateFormData(formData: unknown, schema: RJSFSchema): ValidationData<unknown> {
    const found = check(schema as Schema, formData);
    const builder = new ErrorSchemaBuilder();
    const errors: RJSFValidationError[] = found.map(({ path, message }) => {
      builder.addErrors(message, path.length ? path : undefined);
      const property = path.length ? `.${path.join(".")}` : "";
      return { property, message, stack: `${property || "."} ${message}`.trim(), name: "schema" };
    });
    return { errors, errorSchema: builder.ErrorSchema };
  },
  isValid(schema: RJSFSchema, formData: unknown, rootSchema: RJSFSchema): boolean {
    return check(schema as Schema, formData, rootSchema as Schema).length === 0;
  },
  rawValidation<Result = unknown>(schema: RJSFSchema, formData?: unknown) {
    return { errors: check(schema as Schema, formData) as Result[] };
  },
};
