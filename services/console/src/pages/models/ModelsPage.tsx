/**
 * The false-alarm classifier's versions (admins, from the navigation): each one's held-out metrics,
 * the data set it learnt from (hash, events), which one is active, activating another after a
 * confirmation, and asking for a new training run, whose progress is polled until it finishes.
 * Anyone else who opens the link sees the versions read-only (control lets every role read them
 * and refuses the rest with 403, explained here).
 */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { type Outcome, OutcomeLine, TD, TH, useTimeZone } from "@/pages/settings/parts";
import { Refusal } from "@/pages/settings/queries";

import { type ClassifierModel, formatMetric, METRICS, runsPollInterval, shortHash, type TrainingRun } from "./metrics";
import { activate, models, train, trainingRuns } from "./queries";

function useFailure() {
  const { t } = useTranslation();
  return (error: Error): Outcome => ({
    ok: false,
    text: error instanceof Refusal && error.status === 403 ? t("models.forbidden") : t("models.failed", { message: error.message }),
  });
}

function ActivateCell({ model, setOutcome }: { model: ClassifierModel; setOutcome: (outcome: Outcome) => void }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const failure = useFailure();
  const [confirming, setConfirming] = useState(false);
  const act = useMutation({
    mutationFn: () => activate(model.id),
    onSuccess: () => {
      setConfirming(false);
      setOutcome({ ok: true, text: t("models.activated", { version: model.version }) });
      void queryClient.invalidateQueries({ queryKey: ["models"] });
    },
    onError: (error) => { setConfirming(false); setOutcome(failure(error)); },
  });
  if (!confirming) {
    return (
      <Button size="sm" variant="outline" aria-label={t("models.activateVersion", { version: model.version })}
        onClick={() => { setOutcome(null); setConfirming(true); }}>
        {t("models.activate")}
      </Button>
    );
  }
  return (
    <div className="flex max-w-xs flex-col gap-2" role="group" aria-label={t("models.activateVersion", { version: model.version })}>
      <p className="text-xs">{t("models.confirmActivate", { version: model.version })}</p>
      <div className="flex flex-wrap gap-2">
        <Button size="sm" disabled={act.isPending} onClick={() => act.mutate()}>{t("models.confirm", { version: model.version })}</Button>
        <Button size="sm" variant="outline" onClick={() => setConfirming(false)}>{t("models.cancel")}</Button>
      </div>
    </div>
  );
}

function Versions({ versions, admin, setOutcome }: {
  versions: ClassifierModel[]; admin: boolean; setOutcome: (outcome: Outcome) => void;
}) {
  const { t, i18n } = useTranslation();
  const timeZone = useTimeZone();
  const locale = i18n.language;
  return (
    <div className="overflow-x-auto rounded-md border" tabIndex={0} role="region" aria-label={t("models.versions")}>
      <table className="w-full min-w-[56rem] text-sm" data-testid="model-versions">
        <thead>
          <tr className="border-b">
            <th scope="col" className={TH}>{t("models.columns.version")}</th>
            <th scope="col" className={TH}>{t("models.columns.created")}</th>
            <th scope="col" className={TH}>{t("models.columns.samples")}</th>
            <th scope="col" className={TH}>{t("models.columns.dataset")}</th>
            {METRICS.map((metric) => <th key={metric} scope="col" className={cn(TH, "text-right")}>{t(`models.columns.${metric}`)}</th>)}
            <th scope="col" className={TH}>{t("models.columns.state")}</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((model) => (
            <tr key={model.id} className="border-b last:border-b-0" data-testid="model-version"
              data-version={model.version} data-active={model.is_active}>
              <th scope="row" className={cn(TD, "text-left font-semibold")}>{t("models.versionLabel", { version: model.version })}</th>
              <td className={TD}><time dateTime={model.created_at}>{formatDateTime(model.created_at, timeZone, locale)}</time></td>
              <td className={cn(TD, "tabular-nums")}>{model.metrics.train_samples} / {model.metrics.test_samples}</td>
              <td className={TD}><code title={model.dataset_hash} className="text-xs">{shortHash(model.dataset_hash)}</code></td>
              {METRICS.map((metric) => (
                <td key={metric} className={cn(TD, "text-right tabular-nums")} data-metric={metric}>
                  {formatMetric(model.metrics[metric], locale)}
                </td>
              ))}
              <td className={TD}>
                {model.is_active ? (
                  <span className="flex flex-col">
                    <span className="w-fit rounded bg-emerald-100 px-2 py-0.5 text-xs font-semibold text-emerald-900 dark:bg-emerald-950 dark:text-emerald-200"
                      data-testid="model-active">{t("models.active")}</span>
                    {model.activated_at && (
                      <span className="text-xs text-muted-foreground">
                        {t("models.activatedAt", { when: formatDateTime(model.activated_at, timeZone, locale) })}
                      </span>
                    )}
                  </span>
                ) : admin ? <ActivateCell model={model} setOutcome={setOutcome} /> : (
                  <span className="text-muted-foreground">{t("models.inactive")}</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Runs({ runs, versions }: { runs: TrainingRun[]; versions: ClassifierModel[] }) {
  const { t, i18n } = useTranslation();
  const timeZone = useTimeZone();
  const versionOf = (id: string | null) => versions.find((model) => model.id === id)?.version;
  if (runs.length === 0) return <p className="text-sm text-muted-foreground">{t("models.runsEmpty")}</p>;
  return (
    <div className="overflow-x-auto rounded-md border" tabIndex={0} role="region" aria-label={t("models.runs")}>
      <table className="w-full text-sm" data-testid="training-runs">
        <thead>
          <tr className="border-b">
            <th scope="col" className={TH}>{t("models.runColumns.created")}</th>
            <th scope="col" className={TH}>{t("models.runColumns.status")}</th>
            <th scope="col" className={TH}>{t("models.runColumns.samples")}</th>
            <th scope="col" className={TH}>{t("models.runColumns.result")}</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id} className="border-b last:border-b-0" data-testid="training-run" data-status={run.status}>
              <td className={TD}><time dateTime={run.created_at}>{formatDateTime(run.created_at, timeZone, i18n.language)}</time></td>
              <td className={cn(TD, "font-medium", run.status === "failed" && "text-destructive")}>{t(`models.statuses.${run.status}`)}</td>
              <td className={cn(TD, "tabular-nums")}>{run.samples ?? "—"}</td>
              <td className={TD}>
                {run.status === "failed" ? <span className="text-destructive">{run.error}</span>
                  : versionOf(run.model) !== undefined ? t("models.madeVersion", { version: versionOf(run.model) }) : "—"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function ModelsPage() {
  const { t } = useTranslation();
  const admin = useCan("admin");
  const queryClient = useQueryClient();
  const failure = useFailure();
  const versions = useQuery(models);
  const runs = useQuery(trainingRuns);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const polling = runsPollInterval(runs.data) !== false;
  // unwrap's error reads "<status> <url>": a refusal is explained, anything else shown as it is.
  const loadError = (error: Error) => error.message.startsWith("403 ") ? t("models.forbidden")
    : t("models.loadError", { message: error.message });
  // A run that finished made a version: list it (the runs' poll stops then).
  const finished = runs.data?.filter((run) => run.status === "succeeded").length ?? 0;
  const seenFinished = useRef<number | null>(null);
  useEffect(() => {
    if (seenFinished.current !== null && finished > seenFinished.current) {
      void queryClient.invalidateQueries({ queryKey: models.queryKey });
    }
    seenFinished.current = finished;
  }, [finished, queryClient]);
  const ask = useMutation({
    mutationFn: train,
    onSuccess: () => {
      setOutcome({ ok: true, text: t("models.trainQueued") });
      void queryClient.invalidateQueries({ queryKey: trainingRuns.queryKey });
    },
    onError: (error) => setOutcome(failure(error)),
  });

  return (
    <main className="mx-auto flex max-w-7xl flex-col gap-4 p-4">
      <h1 className="text-2xl font-semibold">{t("models.title")}</h1>
      <p className="max-w-3xl text-sm text-muted-foreground">{t("models.intro")}</p>
      {!admin && <p className="text-sm" data-testid="models-read-only">{t("models.adminOnly")}</p>}
      <OutcomeLine outcome={outcome} testId="models-outcome" />
      <Card>
        <CardHeader><h2 className="text-base font-semibold">{t("models.versions")}</h2></CardHeader>
        <CardContent>
          {versions.isError ? (
            <p role="alert" className="text-sm text-destructive">{loadError(versions.error)}</p>
          ) : !versions.data ? (
            <p className="text-sm text-muted-foreground" aria-busy="true">{t("models.loading")}</p>
          ) : versions.data.length === 0 ? (
            <p className="text-sm text-muted-foreground">{t("models.empty")}</p>
          ) : <Versions versions={versions.data} admin={admin} setOutcome={setOutcome} />}
        </CardContent>
      </Card>
      <Card>
        <CardHeader className="flex flex-row flex-wrap items-center justify-between gap-2">
          <h2 className="text-base font-semibold">{t("models.runs")}</h2>
          {admin && (
            <Button disabled={ask.isPending} onClick={() => { setOutcome(null); ask.mutate(); }}>
              {ask.isPending ? t("models.training") : t("models.train")}
            </Button>
          )}
        </CardHeader>
        <CardContent className="flex flex-col gap-2">
          {runs.isError ? (
            <p role="alert" className="text-sm text-destructive">{loadError(runs.error)}</p>
          ) : !runs.data ? (
            <p className="text-sm text-muted-foreground" aria-busy="true">{t("models.loading")}</p>
          ) : <Runs runs={runs.data} versions={versions.data ?? []} />}
          {polling && <p className="text-xs text-muted-foreground">{t("models.polling")}</p>}
        </CardContent>
      </Card>
    </main>
  );
}
