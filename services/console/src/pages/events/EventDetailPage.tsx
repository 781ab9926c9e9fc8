/**
 * One event: what happened (times in the organization's zone, severity, score, the false-alarm
 * classifier's score and mark, sources by name),
 * who acknowledged and resolved it with their notes, the operator's actions (acknowledge or
 * resolve with a note, classify as a true or false alarm), and its evidence (EvidenceViewer).
 * Other operators' decisions and the correlator's updates arrive live (useLiveEvents).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useId, useState } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE, formatDateTime } from "@/lib/format";
import { organizationSettings } from "@/pages/dashboard-queries";

import { EvidenceViewer } from "./evidence/EvidenceViewer";
import { FalseAlarmBadge, falseAlarmPercent, LiveState, SeverityBadge, StatusCell } from "./parts";
import { classify, decide, eventDetail, modelVersionQuery, refreshAfterAction, sourceNames } from "./queries";
import { eventRoute } from "./route";
import { type EventRow, sourcesOf } from "./search";
import { useLiveEvents } from "./useLiveEvents";

function Field({ label, children, testId }: { label: string; children: React.ReactNode; testId?: string }) {
  return (
    <div className="flex flex-col gap-0.5">
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="text-sm" data-testid={testId}>{children}</dd>
    </div>
  );
}

function Actions({ event }: { event: EventRow }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const id = useId();
  const [note, setNote] = useState("");
  const [failure, setFailure] = useState<string | null>(null);
  const act = useMutation({
    mutationFn: async (what: "acknowledge" | "resolve" | "true_positive" | "false_positive") =>
      what === "acknowledge" || what === "resolve" ? decide(event.id, what, note.trim())
        : classify(event.id, what, note.trim()),
    onSuccess: (changed) => {
      setNote("");
      setFailure(null);
      refreshAfterAction(queryClient, [changed]);
    },
    onError: (error) => setFailure(t("events.detail.failed", { reason: error.message })),
  });
  return (
    <Card>
      <CardHeader><CardTitle className="text-base text-foreground">{t("events.detail.actions")}</CardTitle></CardHeader>
      <CardContent className="flex flex-col gap-3">
        <div className="flex flex-col gap-1">
          <Label htmlFor={`${id}-note`}>{t("events.detail.actionNote")}</Label>
          <textarea id={`${id}-note`} rows={2} maxLength={4000} value={note} onChange={(e) => setNote(e.target.value)}
            className="rounded-md border border-input bg-transparent px-3 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring" />
        </div>
        <div className="flex flex-wrap gap-2">
          <Button disabled={act.isPending || event.status !== "open"} onClick={() => act.mutate("acknowledge")}>
            {t("events.detail.acknowledge")}
          </Button>
          <Button variant="outline" disabled={act.isPending || event.status === "resolved"} onClick={() => act.mutate("resolve")}>
            {t("events.detail.resolve")}
          </Button>
          <Button variant="outline" disabled={act.isPending} aria-pressed={event.classification === "true_positive"}
            onClick={() => act.mutate("true_positive")}>{t("events.detail.classifyTrue")}</Button>
          <Button variant="outline" disabled={act.isPending} aria-pressed={event.classification === "false_positive"}
            onClick={() => act.mutate("false_positive")}>{t("events.detail.classifyFalse")}</Button>
        </div>
        {failure && <p role="alert" className="text-sm text-destructive">{failure}</p>}
      </CardContent>
    </Card>
  );
}

export function EventDetailPage() {
  const { t, i18n } = useTranslation();
  const { id } = eventRoute.useParams();
  const canAct = useCan("operator");
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const event = useQuery(eventDetail(id));
  const names = useQuery(sourceNames);
  const feed = useLiveEvents();
  const locale = i18n.language;
  const model = useQuery({ ...modelVersionQuery(event.data?.false_alarm_model ?? ""), enabled: Boolean(event.data?.false_alarm_model) });
  const modelVersion = model.data ? `v${model.data.version}` : undefined;
  const when = (iso: string | null) => (iso ? formatDateTime(iso, timeZone, locale) : null);

  const cameraName = (ident: string) => names.data?.cameras.find((c) => c.id === ident)?.name ?? ident.slice(0, 8);
  const deviceName = (ident: string) => names.data?.devices.find((d) => d.id === ident)?.name ?? ident.slice(0, 8);

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <Link to="/events" className="text-sm text-muted-foreground underline-offset-2 hover:underline">← {t("events.detail.back")}</Link>
        <LiveState connection={feed.connection} />
      </div>
      {event.isError ? (
        <p className="text-sm text-destructive" role="alert">{t("events.detail.notFound")}</p>
      ) : !event.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.loading")}</p>
      ) : (
        <>
          <div className="flex flex-wrap items-center gap-3">
            <h1 className="text-2xl font-semibold">{t("events.detail.title", { type: event.data.event_type })}</h1>
            <SeverityBadge severity={event.data.severity} />
            <FalseAlarmBadge event={event.data} />
          </div>
          <div className="grid grid-cols-1 gap-4 lg:grid-cols-3">
            <Card className="lg:col-span-2">
              <CardContent className="pt-6">
                <dl className="grid grid-cols-2 gap-4 sm:grid-cols-3">
                  <Field label={t("events.detail.started")}>{when(event.data.time)}</Field>
                  <Field label={t("events.detail.ended")}>{when(event.data.ended_at) ?? t("events.detail.ongoing")}</Field>
                  <Field label={t("events.detail.site")}>{event.data.site ?? "—"}</Field>
                  <Field label={t("events.detail.score")}>{event.data.score.toLocaleString(locale, { maximumFractionDigits: 3 })}</Field>
                  <Field label={t("events.falseAlarm.score")} testId="detail-false-alarm">
                    {event.data.false_alarm_score === null ? t("events.falseAlarm.unscored")
                      : t("events.falseAlarm.scored", { score: falseAlarmPercent(event.data.false_alarm_score, locale),
                        model: modelVersion ?? event.data.false_alarm_model?.slice(0, 8) ?? "—" })}
                  </Field>
                  <Field label={t("events.detail.occurrences")}>{event.data.occurrences}</Field>
                  <Field label={t("events.status")} testId="detail-status"><StatusCell event={event.data} timeZone={timeZone} /></Field>
                  <Field label={t("events.detail.classification")} testId="detail-classification">
                    {t(`events.classifications.${event.data.classification}`)}
                  </Field>
                  {event.data.acknowledgement_note && <Field label={`${t("events.detail.acknowledged")} — ${t("events.detail.note")}`}>{event.data.acknowledgement_note}</Field>}
                  {event.data.resolution_note && <Field label={`${t("events.detail.resolved")} — ${t("events.detail.note")}`}>{event.data.resolution_note}</Field>}
                  {event.data.notes && <Field label={t("events.detail.notes")}>{event.data.notes}</Field>}
                </dl>
                {event.data.description && <p className="mt-4 text-sm">{event.data.description}</p>}
                {sourcesOf(event.data).length > 0 && (
                  <div className="mt-4 overflow-x-auto">
                    <table className="w-full text-sm">
                      <caption className="mb-1 text-left text-xs text-muted-foreground">{t("events.detail.sources")}</caption>
                      <thead>
                        <tr className="border-b text-left text-muted-foreground">
                          <th scope="col" className="py-1 pr-3 font-medium">{t("events.detail.kind")}</th>
                          <th scope="col" className="py-1 pr-3 font-medium">{t("events.source")}</th>
                          <th scope="col" className="py-1 pr-3 font-medium">{t("events.detail.weight")}</th>
                        </tr>
                      </thead>
                      <tbody>
                        {sourcesOf(event.data).map((source, n) => (
                          <tr key={`${source.ref ?? n}-${n}`} className="border-b last:border-b-0">
                            <td className="py-1 pr-3">{source.kind}</td>
                            <td className="py-1 pr-3">
                              {[source.camera && cameraName(source.camera), source.device && deviceName(source.device)].filter(Boolean).join(", ") || "—"}
                            </td>
                            <td className="py-1 pr-3 tabular-nums">{source.weight ?? "—"}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </CardContent>
            </Card>
            {canAct && <Actions event={event.data} />}
          </div>
          <EvidenceViewer event={event.data} timeZone={timeZone} />
        </>
      )}
    </main>
  );
}
