/**
 * How the models page words a classifier version: its held-out metrics, the data set's hash, and
 * whether the training runs still need watching. Pure, so Vitest covers it.
 */
import type { components } from "@/api/schema";

export type ClassifierModel = components["schemas"]["ClassifierModel"];
export type TrainingRun = components["schemas"]["TrainingRun"];

/** The metrics shown, in order (the loss stays in the API: operators compare the others). */
export const METRICS = ["accuracy", "precision", "recall", "f1", "auc"] as const;
export type Metric = (typeof METRICS)[number];

/** A metric between 0 and 1 as a percentage with one decimal ("96,4 %"), "—" where the held-out set could not tell. */
export function formatMetric(value: number | null | undefined, locale: string): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });
}

/** The start of a SHA-256 (12 hex digits), enough to tell two data sets apart at a glance. */
export function shortHash(hash: string): string {
  return hash.slice(0, 12);
}

/** Whether a run has not finished yet: the page polls while any has not. */
export function unfinished(run: Pick<TrainingRun, "status">): boolean {
  return run.status === "queued" || run.status === "running";
}

/** How often to ask for the runs again: every 3 s while one is queued or running, else not. */
export function runsPollInterval(runs: readonly Pick<TrainingRun, "status">[] | undefined): number | false {
  return runs?.some(unfinished) ? 3_000 : false;
}
