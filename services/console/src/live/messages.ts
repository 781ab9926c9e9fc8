/**
 * The live service's feed messages (services/live/vigia/live/wire.py is the definition) and the
 * pure parts of showing them: where the feed is, parsing, and the bounded newest-first list.
 */

interface Base {
  id: string;
  time: string;
}

export type FeedMessage =
  | (Base & { type: "new_detection"; detection: { id: string; camera?: string; label?: string; confidence?: number } })
  | (Base & { type: "new_event"; change: "created" | "updated"; event: { id: string; event_type?: string; severity?: string; status?: string; site?: string } })
  // EventTriaged: an operator's decision on an event (the whole ``event`` in pages/events/live.ts).
  | (Base & { type: "event_triaged"; change: "acknowledged" | "resolved" | "classified"; event: { id: string; event_type?: string; status: string; classification?: string; acknowledged_by_email?: string | null; resolved_by_email?: string | null } })
  | (Base & { type: "device_status_update"; device_id: string; status: string; previous: string | null; reason: string })
  | (Base & { type: "camera_health"; camera_id: string; status: string; previous: string | null; detail: string })
  // PlateRead (services/common/vigia/common/messages.py): one visit's voted plate.
  | (Base & { type: "plate_read"; plate_read: { plate_text: string; camera: string; visit?: string; confidence?: number; final?: boolean } })
  | (Base & { type: "pipeline_status_update"; pipeline_id: string; status: string; node: string | null; error: string | null })
  // ForecastUpdated: a device metric's new forecast is stored (its points: GET /api/v1/devices/{id}/forecast).
  | (Base & { type: "forecast_updated"; forecast: { device: string; metric: string; model: string; fallback?: string | null; anomalies?: unknown[] } });

export type FeedType = FeedMessage["type"];

const FEED_TYPES: ReadonlySet<string> = new Set<FeedType>([
  "new_detection", "new_event", "event_triaged", "device_status_update", "camera_health", "plate_read",
  "pipeline_status_update", "forecast_updated",
]);

/** Close codes of the live service (vigia/live/app.py). */
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_BAD_REQUEST = 4400;

/**
 * The feed's WebSocket URL: the one control wrote into the page (``{host}`` already filled in), or,
 * with none (``npm run dev``, whose proxy carries the feed), the page's own origin.
 */
export function liveUrl(meta: string | null | undefined, location: { protocol: string; host: string }): string {
  if (meta && meta.trim()) return meta.trim();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/api/v1/ws`;
}

/** A feed message, or null for the feed's own messages (pong, error) and anything unreadable. */
export function parseFeedMessage(text: string): FeedMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { type, id, time } = value as Record<string, unknown>;
  if (typeof type !== "string" || !FEED_TYPES.has(type) || typeof id !== "string" || typeof time !== "string") {
    return null;
  }
  return value as FeedMessage;
}

/** ``message`` on top of ``list``, at most ``max`` kept; a message already shown (same id) is not repeated. */
export function prepend(list: readonly FeedMessage[], message: FeedMessage, max: number): FeedMessage[] {
  if (list.some((m) => m.id === message.id)) return list as FeedMessage[];
  return [message, ...list].slice(0, max);
}

/** Severity of a message for its colour: events carry theirs; an offline or failing thing is a warning. */
export function severityOf(message: FeedMessage): "critical" | "high" | "warning" | "info" {
  switch (message.type) {
    case "new_event":
      return message.event.severity === "critical" ? "critical" : message.event.severity === "high" ? "high" : "info";
    case "device_status_update":
      return message.status === "ON" ? "info" : "warning";
    case "camera_health":
      return message.status === "online" ? "info" : "warning";
    case "pipeline_status_update":
      return message.status === "error" ? "warning" : "info";
    default:
      return "info";
  }
}
