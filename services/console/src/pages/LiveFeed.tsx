/** The live feed panel: newest first, each line with its time in the org's zone and a severity colour. */
import type { TFunction } from "i18next";
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

/** A feed message in words (the active language's ``feed.*`` texts). */
export function describeFeedMessage(message: FeedMessage, t: TFunction): string {
  switch (message.type) {
    case "new_detection":
      return t("feed.new_detection", { label: message.detection.label ?? "?" });
    case "new_event":
      return t("feed.new_event", { severity: message.event.severity ?? "", type: message.event.event_type ?? "" });
    case "device_status_update":
      return t("feed.device_status_update", { device: short(message.device_id), previous: message.previous ?? "—", status: message.status });
    case "camera_health":
      return t("feed.camera_health", { camera: short(message.camera_id), status: message.status });
    case "plate_read":
      return t("feed.plate_read", { plate: message.plate_read.plate_text });
    case "pipeline_status_update":
      return t("feed.pipeline_status_update", { pipeline: short(message.pipeline_id), status: message.status });
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

export function LiveFeed({ messages, connection, timeZone }: {
  messages: FeedMessage[];
  connection: FeedConnection;
  timeZone: string;
}) {
  const { t, i18n } = useTranslation();
  return (
    <Card>
      <CardHeader className="flex-row items-center justify-between">
        <CardTitle className="text-base text-foreground">{t("feed.title")}</CardTitle>
        <span className="flex items-center gap-2 text-xs text-muted-foreground" data-testid="feed-connection" data-state={connection}>
          <span className={cn("size-2 rounded-full", connection === "open" ? "bg-emerald-500" : "bg-muted-foreground")} />
          {t(`feed.${connection}`)}
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
