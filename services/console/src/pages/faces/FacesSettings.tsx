/** The organization's face recognition policy (admins, on the organization settings page):
 * whether faces matching nobody enrolled are kept, and how many days sightings are kept. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Field, type Outcome, OutcomeLine } from "@/pages/settings/parts";

import { facesSettings, saveFacesSettings } from "./queries";

export function FacesSettings() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const settings = useQuery(facesSettings);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const save = useMutation({
    mutationFn: saveFacesSettings,
    onSuccess: (saved) => {
      queryClient.setQueryData(facesSettings.queryKey, saved);
      setOutcome({ ok: true, text: t("faces.saved") });
    },
    onError: (error) => setOutcome({ ok: false, text: t("faces.failed", { message: error.message }) }),
  });
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const days = String(form.get("sightings_days") ?? "").trim();
    // Typed as it is: control refuses what is not a whole number from 1, naming the field.
    save.mutate({ store_unknown: form.get("store_unknown") === "on",
      sightings_days: (/^\d+$/.test(days) ? Number(days) : days) as number });
  };
  return (
    <Card>
      <CardHeader><h2 className="text-lg font-semibold">{t("faces.settingsTitle")}</h2></CardHeader>
      <CardContent>
        {settings.isError ? (
          <p role="alert" className="text-sm text-destructive">{t("faces.loadError", { message: settings.error.message })}</p>
        ) : !settings.data ? (
          <p className="text-sm text-muted-foreground">{t("faces.loading")}</p>
        ) : (
          <form key={JSON.stringify(settings.data)} className="flex max-w-xl flex-col gap-4" onSubmit={submit} noValidate
            aria-label={t("faces.settingsTitle")}>
            <div className="flex flex-col gap-1">
              <label className="flex items-center gap-2 text-sm">
                <input type="checkbox" name="store_unknown" className="size-4" defaultChecked={settings.data.store_unknown ?? false}
                  aria-describedby="faces-unknown-hint" />
                {t("faces.storeUnknown")}
              </label>
              <p id="faces-unknown-hint" className="text-xs text-muted-foreground">{t("faces.storeUnknownHint")}</p>
            </div>
            <Field id="faces-days" label={t("faces.sightingsDays")} hint={t("faces.sightingsDaysHint")}>
              <Input id="faces-days" name="sightings_days" inputMode="numeric" className="w-32"
                defaultValue={settings.data.sightings_days ?? 30} aria-describedby="faces-days-hint" />
            </Field>
            <OutcomeLine outcome={outcome} testId="faces-settings-outcome" />
            <div><Button type="submit" disabled={save.isPending}>{t("faces.save")}</Button></div>
          </form>
        )}
      </CardContent>
    </Card>
  );
}
