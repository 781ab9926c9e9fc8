/**
 * A channel kind's config form, drawn from the JSON schema control serves for it
 * (``/api/v1/channels/kinds/``, pydantic's): each property becomes a text, number, checkbox, choice,
 * secret or list field; the values typed in become the config sent back. Secrets are never shown:
 * left empty on an edit, control keeps the stored one.
 */

export type FieldKind = "text" | "secret" | "integer" | "number" | "boolean" | "choice" | "list" | "mapping" | "longtext";

export interface ConfigField {
  name: string;
  title: string;
  description: string;
  kind: FieldKind;
  required: boolean;
  choices: string[];
  default: unknown;
}

interface Property {
  type?: string;
  title?: string;
  description?: string;
  format?: string;
  writeOnly?: boolean;
  enum?: unknown[];
  anyOf?: Property[];
  default?: unknown;
  maxLength?: number;
  items?: Property;
  additionalProperties?: unknown;
}

/** Fields every kind shares that an admin rarely changes: drawn after the kind's own. */
const COMMON = new Set(["locale", "template", "rate_per_s", "burst", "recipients"]);

function kindOf(property: Property): FieldKind {
  const own = property.anyOf?.find((option) => option.type !== "null") ?? property;
  if (own.writeOnly || own.format === "password") return "secret";
  if (own.enum) return "choice";
  switch (own.type) {
    case "boolean": return "boolean";
    case "integer": return "integer";
    case "number": return "number";
    case "array": return "list";
    case "object": return "mapping";
    default: return (own.maxLength ?? 0) > 1000 ? "longtext" : "text";
  }
}

/** The form's fields for a kind's config schema: the kind's own first, the shared ones after. */
export function configFields(schema: Record<string, unknown>): ConfigField[] {
  const properties = (schema.properties ?? {}) as Record<string, Property>;
  const required = new Set((schema.required ?? []) as string[]);
  const fields = Object.entries(properties).map(([name, property]): ConfigField => {
    const own = property.anyOf?.find((option) => option.type !== "null") ?? property;
    return {
      name, title: property.title ?? name, description: property.description ?? "", kind: kindOf(property),
      required: required.has(name), choices: (own.enum ?? []).map(String), default: property.default,
    };
  });
  return [...fields.filter((f) => !COMMON.has(f.name)), ...fields.filter((f) => COMMON.has(f.name))];
}

export type FormValues = Record<string, string | boolean>;

/** What the form starts with: a stored config's values (secrets empty), else the defaults. */
export function initialValues(fields: ConfigField[], config: Record<string, unknown> | undefined): FormValues {
  const values: FormValues = {};
  for (const field of fields) {
    const value = config && field.name in config ? config[field.name] : field.default;
    if (field.kind === "boolean") values[field.name] = Boolean(value);
    else if (field.kind === "secret" || value === null || value === undefined) values[field.name] = "";
    else if (field.kind === "list") values[field.name] = (value as unknown[]).join("\n");
    else if (field.kind === "mapping") {
      values[field.name] = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`).join("\n");
    } else values[field.name] = String(value);
  }
  return values;
}

/**
 * The config to send for ``values``: empty optional fields are left out (control applies its
 * default; for a secret on an edit, keeps the stored one); numbers as numbers; lists one per line;
 * mappings ``name: value`` per line. A value that is not a number is sent as typed, so control's
 * refusal names the field.
 */
export function configFrom(fields: ConfigField[], values: FormValues): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    const value = values[field.name];
    if (field.kind === "boolean") {
      config[field.name] = Boolean(value);
      continue;
    }
    const text = typeof value === "string" ? value.trim() : "";
    if (text === "") continue;
    if (field.kind === "integer" || field.kind === "number") {
      const number = Number(text);
      config[field.name] = Number.isFinite(number) ? number : text;
    } else if (field.kind === "list") {
      config[field.name] = text.split(/[\n,]/).map((item) => item.trim()).filter(Boolean);
    } else if (field.kind === "mapping") {
      config[field.name] = Object.fromEntries(text.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
        const at = line.indexOf(":");
        return at < 0 ? [line, ""] : [line.slice(0, at).trim(), line.slice(at + 1).trim()];
      }));
    } else {
      config[field.name] = text;
    }
  }
  return config;
}
