/**
 * Notification channels: the list, a form per kind drawn from the kind's config schema (create, or
 * edit the channel named in the URL, ``?channel=<id>``), a test sent through the notifier like any
 * action, and the channel's recent deliveries (refreshed while shown).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";

import { type ConfigField, configFields, configFrom, type FormValues, initialValues } from "./channel-config";
import { Field, type Outcome, OutcomeLine, Select, TD, TH, useTimeZone } from "./parts";
import { type Channel, channelKinds, channels, deliveries, orRefusal } from "./queries";
import { channelsRoute } from "./route";

const SHARED = new Set(["locale", "template", "rate_per_s", "burst", "recipients"]);

function ConfigInput({ field: described, value, onChange, secretStored }: {
  field: ConfigField; value: string | boolean; onChange: (value: string | boolean) => void; secretStored: boolean;
}) {
  const { t } = useTranslation();
  // The operator's words for the fields every kind has; the schema's title for any other.
  const title = t(`settings.channels.fields.${described.name}`, { defaultValue: described.title });
  const field = { ...described, title };
  const id = `config-${field.name}`;
  const hint = [field.description, field.kind === "list" ? t("settings.channels.listHint") : "",
    field.kind === "mapping" ? t("settings.channels.mappingHint") : ""].filter(Boolean).join(" ");
  if (field.kind === "boolean") {
    return (
      <div className="flex items-start gap-2">
        <input id={id} type="checkbox" className="mt-0.5 size-4 accent-primary" checked={Boolean(value)}
          onChange={(event) => onChange(event.target.checked)} aria-describedby={`${id}-hint`} />
        <div className="flex flex-col gap-1">
          <label htmlFor={id} className="text-sm font-medium leading-none">{field.title}</label>
          <p id={`${id}-hint`} className="text-xs text-muted-foreground">{field.description}</p>
        </div>
      </div>
    );
  }
  const common = { id, "aria-describedby": `${id}-hint`, required: field.required && !(field.kind === "secret" && secretStored) };
  const text = typeof value === "string" ? value : "";
  return (
    <Field id={id} label={field.required ? `${field.title} *` : field.title} hint={hint}>
      {field.kind === "choice" ? (
        <Select {...common} value={text} onChange={(event) => onChange(event.target.value)}>
          {!field.required && <option value="">—</option>}
          {field.choices.map((choice) => <option key={choice} value={choice}>{choice}</option>)}
        </Select>
      ) : field.kind === "list" || field.kind === "mapping" || field.kind === "longtext" ? (
        <textarea {...common} rows={3} value={text} onChange={(event) => onChange(event.target.value)}
          className="min-h-16 rounded-md border border-input bg-transparent px-3 py-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring" />
      ) : (
        <Input {...common} value={text} onChange={(event) => onChange(event.target.value)}
          type={field.kind === "secret" ? "password" : field.kind === "integer" || field.kind === "number" ? "text" : "text"}
          inputMode={field.kind === "integer" ? "numeric" : field.kind === "number" ? "decimal" : undefined}
          autoComplete={field.kind === "secret" ? "new-password" : "off"}
          placeholder={field.kind === "secret" && secretStored ? t("settings.channels.secretKept") : undefined} />
      )}
    </Field>
  );
}

function ChannelForm({ channel, onSaved }: { channel: Channel | null; onSaved: (channel: Channel, text: string) => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const kinds = useQuery(channelKinds);
  const [kind, setKind] = useState(channel?.kind ?? "webhook");
  const schema = kinds.data?.find((k) => k.kind === kind)?.config_schema;
  const fields = useMemo(() => (schema ? configFields(schema) : []), [schema]);
  const [values, setValues] = useState<FormValues | null>(null);
  const shown = values ?? initialValues(fields, channel?.config as Record<string, unknown> | undefined);
  const [name, setName] = useState(channel?.name ?? "");
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const save = useMutation({
    mutationFn: (config: Record<string, unknown>) => channel
      ? orRefusal(api.PATCH("/api/v1/channels/{id}/", { params: { path: { id: channel.id } }, body: { name, enabled, config } }))
      : orRefusal(api.POST("/api/v1/channels/", { body: { kind, name, enabled, config } })),
    onSuccess: (saved) => {
      setOutcome(null);
      void queryClient.invalidateQueries({ queryKey: channels.queryKey });
      onSaved(saved, t(channel ? "settings.channels.updated" : "settings.channels.created", { name: saved.name }));
    },
    onError: (error) => setOutcome({ ok: false, text: error.message }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(configFrom(fields, shown));
  };
  const set = (field: string) => (value: string | boolean) => setValues({ ...shown, [field]: value });
  const input = (field: ConfigField) => (
    <ConfigInput key={`${kind}-${field.name}`} field={field} value={shown[field.name] ?? ""} onChange={set(field.name)}
      secretStored={Boolean(channel?.secrets_set.includes(field.name))} />
  );
  return (
    <form className="flex flex-col gap-4" onSubmit={submit} noValidate aria-label={channel ? t("settings.channels.editOf", { name: channel.name }) : t("settings.channels.new")}>
      <div className="grid grid-cols-1 gap-3 sm:grid-cols-3">
        <Field id="channel-kind" label={t("settings.channels.kind")}>
          <Select id="channel-kind" value={kind} disabled={channel !== null}
            onChange={(event) => { setKind(event.target.value as Channel["kind"]); setValues(null); }}>
            {(kinds.data ?? []).map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
          </Select>
        </Field>
        <Field id="channel-name" label={`${t("settings.channels.name")} *`}>
          <Input id="channel-name" value={name} required onChange={(event) => setName(event.target.value)} autoComplete="off" />
        </Field>
        <div className="flex items-center gap-2 sm:pt-6">
          <input id="channel-enabled" type="checkbox" className="size-4 accent-primary" checked={enabled}
            onChange={(event) => setEnabled(event.target.checked)} />
          <label htmlFor="channel-enabled" className="text-sm font-medium">{t("settings.channels.enabled")}</label>
        </div>
      </div>
      <div className="grid grid-cols-1 gap-3 md:grid-cols-2">{fields.filter((f) => !SHARED.has(f.name)).map(input)}</div>
      <details className="rounded-md border p-3">
        <summary className="cursor-pointer text-sm font-medium">{t("settings.channels.advanced")}</summary>
        <div className="mt-3 grid grid-cols-1 gap-3 md:grid-cols-2">{fields.filter((f) => SHARED.has(f.name)).map(input)}</div>
      </details>
      <OutcomeLine outcome={outcome} testId="channel-outcome" />
      <div><Button type="submit" disabled={save.isPending || !schema}>
        {save.isPending ? t("settings.saving") : channel ? t("settings.save") : t("settings.channels.create")}
      </Button></div>
    </form>
  );
}

function Deliveries({ channel }: { channel: Channel }) {
  const { t, i18n } = useTranslation();
  const timeZone = useTimeZone();
  const list = useQuery(deliveries(channel.id));
  return (
    <section aria-labelledby="deliveries-title" className="flex flex-col gap-2">
      <h3 id="deliveries-title" className="font-medium">{t("settings.channels.deliveries", { name: channel.name })}</h3>
      {!list.data?.length ? (
        <p className="text-sm text-muted-foreground">{t("settings.channels.noDeliveries")}</p>
      ) : (
        <div className="overflow-x-auto" tabIndex={0} role="region" aria-labelledby="deliveries-title">
          <table className="w-full min-w-[36rem] text-sm" data-testid="deliveries">
            <thead><tr>
              <th className={TH} scope="col">{t("settings.channels.time")}</th>
              <th className={TH} scope="col">{t("settings.channels.deliveryStatus")}</th>
              <th className={TH} scope="col">{t("settings.channels.recipient")}</th>
              <th className={TH} scope="col">{t("settings.channels.attempts")}</th>
              <th className={TH} scope="col">{t("settings.channels.error")}</th>
            </tr></thead>
            <tbody>
              {list.data.map((delivery) => (
                <tr key={delivery.id} className="border-t" data-status={delivery.status}>
                  <td className={`${TD} whitespace-nowrap tabular-nums`}>{formatDateTime(delivery.created_at, timeZone, i18n.language)}</td>
                  <td className={cn(TD, "font-medium", delivery.status === "delivered" ? "text-emerald-700 dark:text-emerald-400"
                    : delivery.status === "failed" ? "text-destructive" : "")}>{t(`settings.channels.statuses.${delivery.status}`)}</td>
                  <td className={`${TD} break-all`}>{delivery.recipient || "—"}</td>
                  <td className={`${TD} tabular-nums`}>{delivery.attempts}</td>
                  <td className={`${TD} break-all text-muted-foreground`}>{delivery.last_error || ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function TestButton({ channel, onOutcome }: { channel: Channel; onOutcome: (outcome: Outcome) => void }) {
  const { t, i18n } = useTranslation();
  const queryClient = useQueryClient();
  const test = useMutation({
    mutationFn: () => orRefusal(api.POST("/api/v1/channels/{id}/test/", {
      params: { path: { id: channel.id } }, body: { locale: i18n.language === "en" ? "en" : "pt-BR" },
    })),
    onSuccess: (sent) => {
      onOutcome({ ok: true, text: t("settings.channels.testSent", { action: sent.action.slice(0, 8) }) });
      void queryClient.invalidateQueries({ queryKey: deliveries(channel.id).queryKey });
    },
    onError: (error) => onOutcome({ ok: false, text: error.message }),
  });
  return (
    <Button variant="outline" size="sm" disabled={test.isPending} aria-label={t("settings.channels.testOf", { name: channel.name })}
      onClick={() => test.mutate()}>{t("settings.channels.test")}</Button>
  );
}

export function ChannelsPage() {
  const { t } = useTranslation();
  const { channel: selectedId } = channelsRoute.useSearch();
  const navigate = useNavigate({ from: channelsRoute.fullPath });
  const list = useQuery(channels);
  const selected = list.data?.find((c) => c.id === selectedId) ?? null;
  const [outcome, setOutcome] = useState<Outcome>(null);
  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader className="flex-row flex-wrap items-center justify-between gap-2">
          <h2 className="text-lg font-semibold">{t("settings.channels.title")}</h2>
          {selectedId && <Link to="/settings/channels" search={{}} className="text-sm underline underline-offset-4">{t("settings.channels.new")}</Link>}
        </CardHeader>
        <CardContent className="flex flex-col gap-3">
          <OutcomeLine outcome={outcome} testId="channels-outcome" />
          {list.isError ? (
            <p role="alert" className="text-sm text-destructive">{t("settings.loadError", { message: list.error.message })}</p>
          ) : !list.data ? (
            <p className="text-sm text-muted-foreground">{t("settings.loading")}</p>
          ) : list.data.length === 0 ? (
            <p className="text-sm text-muted-foreground">{t("settings.channels.none")}</p>
          ) : (
            <div className="overflow-x-auto">
              <table className="w-full min-w-[30rem] text-sm" data-testid="channels">
                <thead><tr>
                  <th className={TH} scope="col">{t("settings.channels.name")}</th>
                  <th className={TH} scope="col">{t("settings.channels.kind")}</th>
                  <th className={TH} scope="col">{t("settings.channels.enabled")}</th>
                  <th className={TH} scope="col"><span className="sr-only">{t("settings.users.actions")}</span></th>
                </tr></thead>
                <tbody>
                  {list.data.map((channel) => (
                    <tr key={channel.id} className={cn("border-t", channel.id === selectedId && "bg-accent")}>
                      <td className={`${TD} font-medium`}>{channel.name}</td>
                      <td className={TD}>{channel.kind}</td>
                      <td className={TD}>{channel.enabled ? t("settings.channels.enabled") : t("settings.channels.disabled")}</td>
                      <td className={TD}>
                        <div className="flex flex-wrap gap-2">
                          <Link to="/settings/channels" search={{ channel: channel.id }} aria-label={t("settings.channels.editOf", { name: channel.name })}
                            className="inline-flex h-8 items-center rounded-md border px-3 text-xs font-medium hover:bg-accent focus-visible:outline-2 focus-visible:outline-ring">
                            {t("settings.channels.edit")}
                          </Link>
                          <TestButton channel={channel} onOutcome={(next) => {
                            setOutcome(next);
                            if (next?.ok && channel.id !== selectedId) void navigate({ search: { channel: channel.id } });
                          }} />
                        </div>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <h2 className="text-lg font-semibold">
            {selected ? t("settings.channels.editOf", { name: selected.name }) : t("settings.channels.new")}
          </h2>
        </CardHeader>
        <CardContent className="flex flex-col gap-6">
          {(!selectedId || selected) && (
            <ChannelForm key={selected?.id ?? "new"} channel={selected}
              onSaved={(saved, text) => {
                setOutcome({ ok: true, text });
                if (!selected) void navigate({ search: { channel: saved.id } });
              }} />
          )}
          {selected && <Deliveries channel={selected} />}
        </CardContent>
      </Card>
    </div>
  );
}
