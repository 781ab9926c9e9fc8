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
