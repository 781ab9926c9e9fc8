import { describe, expect, it } from "vitest";

import { parseAuditSearch, withFilter } from "./audit-search";
import { configFields, configFrom, initialValues } from "./channel-config";

// The shape pydantic gives WebhookConfig (abridged): what /api/v1/channels/kinds/ serves.
const WEBHOOK = {
  properties: {
    locale: { default: "pt-BR", pattern: "^(pt-BR|en)$", title: "Locale", type: "string" },
    template: { anyOf: [{ maxLength: 4000, type: "string" }, { type: "null" }], default: null, title: "Template" },
    rate_per_s: { default: 20.0, exclusiveMinimum: 0, title: "Rate Per S", type: "number" },
    recipients: { items: { type: "string" }, title: "Recipients", type: "array" },
    url: { format: "uri", minLength: 1, title: "Url", type: "string" },
    secret: { format: "password", title: "Secret", type: "string", writeOnly: true },
    headers: { additionalProperties: { type: "string" }, title: "Headers", type: "object" },
    register_type: { default: "coil", enum: ["coil", "holding"], title: "Register Type", type: "string" },
    starttls: { default: true, title: "Starttls", type: "boolean" },
    port: { default: 587, title: "Port", type: "integer" },
  },
  required: ["url", "secret"],
};

describe("channel config form", () => {
  const fields = configFields(WEBHOOK);

  it("draws the kind's own fields first, each as the input its schema calls for", () => {
    expect(fields.map((f) => f.name)).toEqual([
      "url", "secret", "headers", "register_type", "starttls", "port", "locale", "template", "rate_per_s", "recipients"]);
    const kinds = Object.fromEntries(fields.map((f) => [f.name, f.kind]));
    expect(kinds).toMatchObject({
      url: "text", secret: "secret", headers: "mapping", register_type: "choice", starttls: "boolean",
      port: "integer", template: "longtext", rate_per_s: "number", recipients: "list",
    });
    expect(fields.find((f) => f.name === "url")!.required).toBe(true);
    expect(fields.find((f) => f.name === "register_type")!.choices).toEqual(["coil", "holding"]);
  });

  it("starts from the defaults, or from a stored config without its secrets", () => {
    expect(initialValues(fields, undefined)).toMatchObject({ port: "587", starttls: true, secret: "", template: "" });
    const stored = initialValues(fields, { url: "http://h/x", headers: { "X-Team": "ops" }, recipients: ["a", "b"] });
    expect(stored).toMatchObject({ url: "http://h/x", headers: "X-Team: ops", recipients: "a\nb", secret: "" });
  });

  it("sends typed values, leaves empty ones out (a secret kept), and round-trips a stored config", () => {
    const values = { ...initialValues(fields, undefined), url: " http://127.0.0.1:9/hook ", secret: "", port: "2525",
      rate_per_s: "abc", recipients: "ops@x, sec@x\n", headers: "X-Team: ops\nX-Env:  lab" };
    expect(configFrom(fields, values)).toEqual({
      url: "http://127.0.0.1:9/hook", port: 2525, rate_per_s: "abc", recipients: ["ops@x", "sec@x"],
      headers: { "X-Team": "ops", "X-Env": "lab" }, starttls: true, locale: "pt-BR", register_type: "coil",
    });
  });
});

describe("audit filters in the URL", () => {
  it("keeps what control accepts and drops the rest", () => {
    expect(parseAuditSearch({ action: "sign_in", method: "patch", object_type: "User", since: "2026-01-02T03:04:05Z" }))
      .toEqual({ action: "sign_in", method: "PATCH", object_type: "User", since: "2026-01-02T03:04:05.000Z" });
    expect(parseAuditSearch({ action: "drop_tables", method: "TRACE", user: "bob", until: "yesterday", object_type: "a b" }))
      .toEqual({});
  });

  it("sets and clears one filter, keeping the others", () => {
    const search = withFilter({ method: "POST" }, "action", "user_unlocked");
    expect(search).toEqual({ method: "POST", action: "user_unlocked" });
    expect(withFilter(search, "method", "")).toEqual({ action: "user_unlocked" });
  });
});

describe("audit days in the organization's zone", () => {
  it("turns a day into its midnight there, and an instant back into its day", async () => {
    const { dayOf, dayStart, nextDay, previousDay } = await import("./audit-search");
    const { zoneOffsetMs } = await import("@/lib/format");
    expect(dayStart("2026-01-02", "America/Manaus", zoneOffsetMs)).toBe("2026-01-02T04:00:00.000Z");
    expect(dayStart("2026-01-02", "Asia/Tokyo", zoneOffsetMs)).toBe("2026-01-01T15:00:00.000Z");
    expect(dayStart("soon", "UTC", zoneOffsetMs)).toBe("");
    expect(dayOf("2026-01-02T03:59:59Z", "America/Manaus")).toBe("2026-01-01");
    expect(dayOf(undefined, "UTC")).toBe("");
    expect(nextDay("2026-12-31")).toBe("2027-01-01");
    expect(previousDay("2026-03-01")).toBe("2026-02-28");
  });
});
