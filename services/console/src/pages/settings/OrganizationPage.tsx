/**
 * The organization's settings an admin tunes from here: its time zone (every time in the console
 * and the reports), the console's idle session time-out, the escalation delay and the score from
 * which the false-alarm classifier marks an event; and the face recognition policy (FacesSettings).
 * The other correlation and retention settings stay in the API (/api/v1/organization/settings).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { api } from "@/app";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { organizationSettingsQuery } from "@/pages/dashboard-queries";

import { FacesSettings } from "@/pages/faces/FacesSettings";

import { decimalOrNull } from "./numbers";
import { Field, type Outcome, OutcomeLine, Select } from "./parts";
import { orRefusal, type OrganizationSettings } from "./queries";

/** A whole number typed in a field, null for an empty one (back to the default), else as typed. */
function wholeOrNull(text: FormDataEntryValue | null): number | null | string {
  const value = String(text ?? "").trim();
  if (value === "") return null;
  return /^\d+$/.test(value) ? Number(value) : value;
}

function zones(current: string | undefined): string[] {
  const known = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  return current && !known.includes(current) ? [current, ...known] : known;
}

function SettingsForm({ settings, outcome, setOutcome }: {
  settings: OrganizationSettings; outcome: Outcome; setOutcome: (outcome: Outcome) => void;
}) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const options = useMemo(() => zones(settings.time_zone), [settings.time_zone]);
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) =>
      orRefusal(api.PATCH("/api/v1/organization/settings", { body: body as OrganizationSettings })),
    onSuccess: (saved) => {
      queryClient.setQueryData(organizationSettingsQuery.queryKey, saved);
      void queryClient.invalidateQueries({ queryKey: ["dashboard"] });
      setOutcome({ ok: true, text: t("settings.saved") });
    },
    onError: (error) => setOutcome({ ok: false, text: error.message }),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    save.mutate({
      time_zone: String(form.get("time_zone")),
      session_idle_minutes: wholeOrNull(form.get("session_idle_minutes")),
      escalation_delay_s: wholeOrNull(form.get("escalation_delay_s")),
      correlation: { false_alarm_threshold: decimalOrNull(form.get("false_alarm_threshold")) },
    });
  };
  return (
    <form className="flex max-w-xl flex-col gap-4" onSubmit={submit} noValidate aria-label={t("settings.organization.title")}>
      <Field id="org-time-zone" label={t("settings.organization.timeZone")} hint={t("settings.organization.timeZoneHint")}>
        <Select id="org-time-zone" name="time_zone" defaultValue={settings.time_zone} aria-describedby="org-time-zone-hint">
          {options.map((zone) => <option key={zone} value={zone}>{zone}</option>)}
        </Select>
      </Field>
      <Field id="org-idle" label={t("settings.organization.idle")} hint={t("settings.organization.idleHint")}>
        <Input id="org-idle" name="session_idle_minutes" inputMode="numeric" defaultValue={settings.session_idle_minutes ?? ""}
          aria-describedby="org-idle-hint" />
      </Field>
      <Field id="org-escalation" label={t("settings.organization.escalation")} hint={t("settings.organization.escalationHint")}>
        <Input id="org-escalation" name="escalation_delay_s" inputMode="numeric" defaultValue={settings.escalation_delay_s ?? ""}
          aria-describedby="org-escalation-hint" />
      </Field>
      <Field id="org-false-alarm" label={t("settings.organization.falseAlarm")} hint={t("settings.organization.falseAlarmHint")}>
        <Input id="org-false-alarm" name="false_alarm_threshold" inputMode="decimal"
          defaultValue={settings.correlation?.false_alarm_threshold ?? ""} aria-describedby="org-false-alarm-hint" />
      </Field>
      <OutcomeLine outcome={outcome} testId="organization-outcome" />
      <div><Button type="submit" disabled={save.isPending}>{save.isPending ? t("settings.saving") : t("settings.save")}</Button></div>
    </form>
  );
}

export function OrganizationPage() {
  const { t } = useTranslation();
  const settings = useQuery(organizationSettingsQuery);
  const [outcome, setOutcome] = useState<Outcome>(null);
  return (
    <div className="flex flex-col gap-4">
      <Card>
        <CardHeader><h2 className="text-lg font-semibold">{t("settings.organization.title")}</h2></CardHeader>
        <CardContent>
          {settings.isError ? (
            <p role="alert" className="text-sm text-destructive">{t("settings.loadError", { message: settings.error.message })}</p>
          ) : settings.data ? (
            // Drawn afresh from what control saved (a cleared field shows the default it put back).
            <SettingsForm key={JSON.stringify(settings.data)} settings={settings.data} outcome={outcome} setOutcome={setOutcome} />
          ) : (
            <p className="text-sm text-muted-foreground">{t("settings.loading")}</p>
          )}
        </CardContent>
      </Card>
      <FacesSettings />
    </div>
  );
}
