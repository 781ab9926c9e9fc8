/** Small pieces both the list and an event's page show: severity badges, status with who and when,
 * whether the page is updating live. */
import { useTranslation } from "react-i18next";

import { formatDateTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import type { FeedConnection } from "@/live/useLiveFeed";

import type { EventRow, Severity } from "./search";

const SEVERITY_CLASS: Record<Severity, string> = {
  critical: "bg-red-700 text-white",
  high: "bg-orange-700 text-white",
  medium: "bg-amber-200 text-amber-950",
  low: "bg-sky-100 text-sky-950",
};

export function SeverityBadge({ severity }: { severity: Severity }) {
  const { t } = useTranslation();
  return (
    <span className={cn("inline-block rounded px-2 py-0.5 text-xs font-semibold", SEVERITY_CLASS[severity])}>
      {t(`events.severities.${severity}`)}
    </span>
  );
}

/** The false-alarm classifier's score as a percentage ("87 %"), "—" for an unscored event. */
export function falseAlarmPercent(score: number | null | undefined, locale: string): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return "—";
  return score.toLocaleString(locale, { style: "percent", maximumFractionDigits: 0 });
}

/** "Likely false alarm": the correlator marked the event (its score reached the organization's threshold). */
export function FalseAlarmBadge({ event }: { event: Pick<EventRow, "likely_false_alarm" | "false_alarm_score"> }) {
  const { t, i18n } = useTranslation();
  if (!event.likely_false_alarm) return null;
  return (
    <span className="inline-block rounded border border-violet-700 px-1.5 py-0.5 text-xs font-medium text-violet-800 dark:border-violet-300 dark:text-violet-200"
      data-testid="likely-false-alarm" title={t("events.falseAlarm.title", { score: falseAlarmPercent(event.false_alarm_score, i18n.language) })}>
      {t("events.falseAlarm.badge")}
    </span>
  );
}

/** The status, and for a decided event who decided it and when, in the organization's zone. */
export function StatusCell({ event, timeZone }: { event: EventRow; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const decided = event.status === "resolved"
    ? { who: event.resolved_by_email, when: event.resolved_at }
    : event.status === "acknowledged" ? { who: event.acknowledged_by_email, when: event.acknowledged_at } : null;
  return (
    <span className="flex flex-col" data-testid="event-status">
      <span className="font-medium">{t(`events.statuses.${event.status}`)}</span>
      {decided?.when && (
        <span className="text-xs text-muted-foreground" data-testid="event-decided-by">
          {t("events.ackBy", {
            who: decided.who ?? t("events.someone"),
            when: formatDateTime(decided.when, timeZone, i18n.language),
          })}
        </span>
      )}
    </span>
  );
}

/** Whether the page follows the live feed (new events, other operators' decisions) right now. */
export function LiveState({ connection }: { connection: FeedConnection }) {
  const { t } = useTranslation();
  return (
    <span className="flex items-center gap-2 text-xs text-muted-foreground" data-testid="events-live" data-state={connection}>
      <span className={cn("size-2 rounded-full", connection === "open" ? "bg-emerald-500" : "bg-muted-foreground")} />
      {t(`events.liveState.${connection}`)}
    </span>
  );
}
