/** The live feed panel: newest first, each line with its time in the org's zone and a severity colour. */
import type { TFunction } from "i18next";
import { BellRing, Volume2, VolumeX } from "lucide-react";
import { memo } from "react";
import { useTranslation } from "react-i18next";

import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { formatTime } from "@/lib/format";
import { cn } from "@/lib/utils";
import { type FeedMessage, severityOf } from "@/live/messages";
import type { FeedConnection } from "@/live/useLiveFeed";

const SEVERITY_CLASS = {
  critical: "border-l-red-600 bg-red-500/10",
  high: "border-l-orange-500",
  warning: "border-l-amber-400",
  info: "border-l-sky-400",
} as const;

const short = (id: string | null | undefined) => (id ?? "").slice(0, 8);
const SEVERITIES = new Set(["critical", "high", "medium", "low"]);

/** A feed message in words (the active language's ``feed.*`` texts). */
export function describeFeedMessage(message: FeedMessage, t: TFunction): string {
  switch (message.type) {
    case "new_detection":
      return t("feed.new_detection", { label: message.detection.label ?? "?" });
    case "new_event":
      return t("feed.new_event", { type: message.event.event_type ?? "?",
        severity: SEVERITIES.has(message.event.severity ?? "") ? t(`events.severities.${message.event.severity}`)
          : message.event.severity ?? "?" });
    case "event_triaged":
      return message.change === "classified"
        ? t("feed.event_triaged_classified", { type: message.event.event_type ?? "?",
          classification: t(`events.classifications.${message.event.classification ?? "unclassified"}`) })
        : t(`feed.event_triaged_${message.change}`, { type: message.event.event_type ?? "?",
          who: (message.change === "resolved" ? message.event.resolved_by_email : message.event.acknowledged_by_email)
            ?? t("events.someone") });
    case "device_status_update":
      return t("feed.device_status_update", { device: short(message.device_id), previous: message.previous ?? "—", status: message.status });
    case "camera_health":
      return t("feed.camera_health", { camera: short(message.camera_id), status: message.status });
    case "plate_read":
      return t("feed.plate_read", { plate: message.plate_read.plate_text });
    case "pipeline_status_update":
      return t("feed.pipeline_status_update", { pipeline: short(message.pipeline_id), status: message.status });
    case "forecast_updated":
      return t("feed.forecast_updated", { device: short(message.forecast.device), metric: message.forecast.metric,
        count: message.forecast.anomalies?.length ?? 0 });
  }
}

/** One line; drawn once (a message never changes), so 100 messages/s redraw one line each, not 50. */
const FeedLine = memo(function FeedLine({ message, timeZone, locale, t }: {
  message: FeedMessage; timeZone: string; locale: string; t: TFunction;
}) {
  return (
    <li className={cn("flex gap-3 border-l-4 px-2 py-1 text-sm", SEVERITY_CLASS[severityOf(message)])}>
      <time className="tabular-nums text-muted-foreground" dateTime={message.time}>
        {formatTime(message.time, timeZone, locale)}
      </time>
      <span>{describeFeedMessage(message, t)}</span>
    </li>
  );
});

/** The cue for critical events (src/live/cue.ts): how many arrived, whether the last one is fresh
 * (the feed flashes), and the sound's switch. */
export interface CriticalCue {
  count: number;
  flashing: boolean;
  sound: boolean;
  onSound: (on: boolean) => void;
}

export function LiveFeed({ messages, connection, timeZone, cue }: {
  messages: FeedMessage[];
  connection: FeedConnection;
  timeZone: string;
  cue?: CriticalCue;
}) {
  const { t, i18n } = useTranslation();
  return (
    <Card className={cn(cue?.flashing && "ring-2 ring-red-600")} data-testid="feed-card"
      data-critical-cues={cue?.count ?? 0}>
      <CardHeader className="flex-row flex-wrap items-center justify-between gap-2">
        <CardTitle className="flex items-center gap-2 text-base text-foreground">
          {t("feed.title")}
          {cue?.flashing && (
            <span role="status" className="flex items-center gap-1 text-sm text-red-700 dark:text-red-300">
              <BellRing aria-hidden className="size-4" />{t("feed.critical")}
            </span>
          )}
        </CardTitle>
        <span className="flex items-center gap-3 text-xs text-muted-foreground">
          {cue && (
            <button type="button" aria-pressed={cue.sound} onClick={() => cue.onSound(!cue.sound)}
              className="flex items-center gap-1 rounded-md border px-2 py-1 hover:bg-accent">
              {cue.sound ? <Volume2 aria-hidden className="size-4" /> : <VolumeX aria-hidden className="size-4" />}
              {t("feed.sound")}
            </button>
          )}
          <span className="flex items-center gap-2" data-testid="feed-connection" data-state={connection}>
            <span className={cn("size-2 rounded-full", connection === "open" ? "bg-emerald-500" : "bg-muted-foreground")} />
            {t(`feed.${connection}`)}
          </span>
        </span>
      </CardHeader>
      <CardContent>
        {messages.length === 0 ? (
          <p className="text-sm text-muted-foreground">{t("feed.empty")}</p>
        ) : (
          <ol className="flex max-h-96 flex-col gap-1 overflow-y-auto" aria-live="polite" aria-label={t("feed.title")} data-testid="feed">
            {messages.map((message) => (
              <FeedLine key={message.id} message={message} timeZone={timeZone} locale={i18n.language} t={t} />
            ))}
          </ol>
        )}
      </CardContent>
    </Card>
  );
}
