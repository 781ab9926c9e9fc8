"""Writes deploy/grafana/dashboards/*.json (run: python deploy/grafana/generate_dashboards.py).

The dashboards are generated so that panels stay uniform; edit here, regenerate, commit both.
Every Prometheus target uses the provisioned datasource uid ``prometheus`` and every log panel
``loki`` (provisioning/datasources/datasources.yml)."""

from __future__ import annotations

import json
from pathlib import Path

PROM = {"type": "prometheus", "uid": "prometheus"}
LOKI = {"type": "loki", "uid": "loki"}
OUT = Path(__file__).resolve().parent / "dashboards"
RI = "$__rate_interval"
# LogQL: the services log one JSON object per line (vigia.common.observability).
ERROR_LOGS = '{service=~".+"} | json | level=~"ERROR|CRITICAL"'


class Layout:
    def __init__(self) -> None:
        self.x = self.y = self.row_h = 0
        self.next_id = 1

    def place(self, w: int, h: int) -> dict:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        pos = {"x": self.x, "y": self.y, "w": w, "h": h}
        self.x += w
        self.row_h = max(self.row_h, h)
        return pos


def target(expr: str, legend: str = "", ref: str = "A", **extra: object) -> dict:
    return {"datasource": PROM, "refId": ref, "expr": expr, "legendFormat": legend or "__auto", **extra}


def panel(layout: Layout, title: str, targets: list[dict], *, kind: str = "timeseries", unit: str = "short",
          w: int = 12, h: int = 8, description: str = "", options: dict | None = None,
          field_extra: dict | None = None, datasource: dict = PROM) -> dict:
    refs = "ABCDEFGH"
    for i, t in enumerate(targets):
        t["refId"] = refs[i]
    p = {
        "id": layout.next_id, "type": kind, "title": title, "description": description,
        "datasource": datasource, "gridPos": layout.place(w, h), "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, **(field_extra or {})}, "overrides": []},
        "options": options or {},
    }
    layout.next_id += 1
    return p


def dashboard(uid: str, title: str, panels: list[dict], *, variables: list[dict] | None = None,
              time_from: str = "now-6h", description: str = "") -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["vigia"],
        "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": False,
        "graphTooltip": 1, "refresh": "30s", "time": {"from": time_from, "to": "now"},
        "templating": {"list": variables or []}, "annotations": {"list": []}, "links": [],
        "panels": panels,
    }


def variable(name: str, metric: str, label: str) -> dict:
    query = f"label_values({metric}, {label})"
    return {
        "name": name, "label": label, "type": "query", "datasource": PROM,
        "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
        "definition": query, "refresh": 2, "includeAll": True, "multi": True, "allValue": ".*",
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "sort": 1,
    }


def quantiles(metric: str, by: str = "", legend_prefix: str = "", selector: str = "") -> list[dict]:
    group = f"{by}, le" if by else "le"
    prefix = f"{{{{{by}}}}} " if by else legend_prefix
    return [target(f"histogram_quantile({q}, sum by ({group}) (rate({metric}_bucket{selector}[{RI}])))",
                   f"{prefix}P{int(q * 100)}") for q in (0.5, 0.95, 0.99)]


def cameras() -> dict:
    lay = Layout()
    cam = '{camera=~"$camera"}'
    up = f"(sum by (camera) (rate(streamer_frames_published_total{cam}[5m])) > bool 0)"
    panels = [
        panel(lay, "Uptime per camera (24 h)", [target(f"avg_over_time({up}[24h:5m])", "{{camera}}")],
              kind="bargauge", unit="percentunit", w=24, h=10,
              description="Share of 5-minute steps in the last 24 h in which the camera published frames "
                          "(streamer_frames_published_total, summed over streamer replicas).",
              options={"orientation": "horizontal", "displayMode": "gradient",
                       "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
              field_extra={"min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [
                  {"color": "red", "value": None}, {"color": "orange", "value": 0.9},
                  {"color": "green", "value": 0.99}]}}),
        panel(lay, "Camera up (now)", [target(up, "{{camera}}")], kind="state-timeline", w=24, h=8,
              description="1 while the camera publishes frames, 0 when it stopped (the VigiaCameraDown alert).",
              field_extra={"mappings": [{"type": "value", "options": {
                  "0": {"text": "down", "color": "red"}, "1": {"text": "up", "color": "green"}}}]}),
        panel(lay, "Frames published per second", [
            target(f"sum by (camera) (rate(streamer_frames_published_total{cam}[{RI}]))", "{{camera}}")],
            unit="fps"),
        panel(lay, "Frames dropped per second", [
            target(f"sum by (camera, reason) (rate(streamer_frames_dropped_total{cam}[{RI}]))",
                   "{{camera}} {{reason}}")], unit="fps"),
        panel(lay, "Circuit breaker open / key frames only", [
            target(f"max by (camera) (streamer_circuit_open{cam})", "{{camera}} circuit open"),
            target(f"max by (camera) (streamer_keyframes_only{cam})", "{{camera}} key frames only")]),
        panel(lay, "Restarts (1 h)", [
            target(f"sum by (camera) (increase(watchdog_restarts_total{cam}[1h]))", "{{camera}} watchdog"),
            target(f"sum by (camera) (increase(streamer_ffmpeg_restarts_total{cam}[1h]))", "{{camera}} ffmpeg")]),
        panel(lay, "Streamer replicas and leases", [
            target("max(streamer_replicas_live)", "replicas live"),
            target("sum by (instance) (streamer_cameras_held)", "{{instance}} cameras held")], w=24),
    ]
    return dashboard("vigia-cameras", "Vigia / Cameras", panels, time_from="now-24h",
                     variables=[variable("camera", "streamer_frames_published_total", "camera")],
                     description="Camera uptime, frame flow and restarts (streamer and watchdog metrics).")


def latency() -> dict:
    lay = Layout()
    panels = [
        panel(lay, "Streaming latency (capture → vision) P50/P95/P99",
              quantiles("vigia_vision_frame_age_seconds"), unit="s",
              description="Age of a frame when vision starts inference on it (vigia_vision_frame_age_seconds)."),
        panel(lay, "Detection latency (capture → detections published) P50/P95/P99",
              quantiles("vigia_vision_detection_latency_seconds"), unit="s",
              description="vigia_vision_detection_latency_seconds: end to end, per processed frame."),
        panel(lay, "HTTP latency P50/P95/P99 by service", quantiles("vigia_http_request_duration_seconds", "service"),
              unit="s"),
        panel(lay, "Sensor ingest ack latency P50/P95/P99", quantiles("vigia_sensor_ack_latency_seconds"), unit="s"),
        panel(lay, "Correlator decision latency P50/P95/P99", quantiles("correlator_decision_seconds"), unit="s"),
        panel(lay, "Queue lag P95 by queue", [
            target(f"histogram_quantile(0.95, sum by (queue, le) (rate(vigia_message_age_seconds_bucket[{RI}])))",
                   "{{queue}}")], unit="s",
              description="vigia_message_age_seconds: from an envelope's time to a consumer taking it from its "
                          "queue (every Vigia queue consumer: vision, fusion, correlator, recorder, live, streamer, "
                          "mediamtx-sync)."),
        panel(lay, "HTTP requests per second by status", [
            target(f"sum by (service, status) (rate(vigia_http_requests_total[{RI}]))", "{{service}} {{status}}")],
            unit="reqps"),
    ]
    return dashboard("vigia-latency", "Vigia / Latency", panels,
                     description="Streaming, detection, HTTP and decision latency quantiles.")


def ai() -> dict:
    lay = Layout()
    cam = '{camera=~"$camera"}'
    ai_queues = '{queue=~"vision.frames.[0-9]+|fusion.sensors.[0-9]+|correlator.in"}'
    panels = [
        panel(lay, "AI queue length (RabbitMQ)", [
            target(f"sum by (queue) (rabbitmq_queue_messages_ready{ai_queues})", "{{queue}} ready"),
            target(f"sum by (queue) (rabbitmq_queue_messages_unacked{ai_queues})", "{{queue}} unacked")],
            description="From RabbitMQ's rabbitmq_prometheus plugin (/metrics/per-object)."),
        panel(lay, "Frames waiting and shed (as ingest-frames sees them)", [
            target("sum(max by (queue) (vigia_frames_queue_ready))", "waiting (all frame shards)"),
            target(f"sum(max by (queue) (rate(vigia_frames_dropped_total[{RI}])))", "shed per second")],
            description="Every ingest-frames replica reads the same vision.frames.<k> statistics: max per "
                        "queue, then summed over the shards."),
        panel(lay, "Inference time per batch P50/P95/P99", quantiles("vigia_vision_inference_seconds"), unit="s"),
        panel(lay, "OCR time per frame P50/P95/P99", quantiles("vigia_vision_ocr_seconds"), unit="s"),
        panel(lay, "Message handling time P95 by queue", [
            target(f"histogram_quantile(0.95, sum by (queue, le) (rate(vigia_message_handle_seconds_bucket[{RI}])))",
                   "{{queue}}")], unit="s"),
        panel(lay, "Batch size (mean)", [
            target(f"sum(rate(vigia_vision_batch_size_sum[{RI}])) / sum(rate(vigia_vision_batch_size_count[{RI}]))",
                   "frames per batch")]),
        panel(lay, "Vision frames per second by outcome", [
            target(f"sum by (outcome) (rate(vigia_vision_frames_total[{RI}]))", "{{outcome}}")], unit="fps"),
        panel(lay, "Messages consumed per second by queue and outcome", [
            target(f"sum by (queue, outcome) (rate(vigia_messages_consumed_total[{RI}]))", "{{queue}} {{outcome}}")],
            unit="ops"),
        panel(lay, "Detections per hour per camera", [
            target(f"sum by (camera) (increase(vigia_vision_detections_total{cam}[1h]))", "{{camera}}")],
            kind="timeseries", w=24, description="vigia_vision_detections_total over the preceding hour."),
        panel(lay, "Detections per hour by label", [
            target(f"sum by (label) (increase(vigia_vision_detections_total{cam}[1h]))", "{{label}}")]),
        panel(lay, "Plate reads per hour by outcome", [
            target("sum by (outcome) (increase(vigia_vision_plate_reads_total[1h]))", "{{outcome}}"),
            target("sum(increase(vigia_vision_plate_reads_published_total[1h]))", "published")]),
        panel(lay, "Dead-letter queues", [
            target('sum by (queue) (rabbitmq_queue_messages{queue=~".+\\\\.dlq"})', "{{queue}} (RabbitMQ)"),
            target("max by (queue) (vigia_dlq_messages)", "{{queue}} (watchdog)")], w=24,
            description="Should stay at 0 (alert VigiaDLQNotEmpty)."),
    ]
    return dashboard("vigia-ai", "Vigia / AI pipeline", panels,
                     variables=[variable("camera", "vigia_vision_detections_total", "camera")],
                     description="Vision queue, processing time and detections.")


def sensors() -> dict:
    lay = Layout()
    leader = "and on (instance) (watchdog_is_leader == 1)"
    panels = [
        panel(lay, "Sensor ingest rate", [
            target(f"sum(rate(vigia_sensor_packets_accepted_total[{RI}]))", "packets accepted/s"),
            target(f"sum by (reason) (rate(vigia_sensor_packets_rejected_total[{RI}]))", "rejected {{reason}}"),
            target(f"sum(rate(vigia_sensor_audio_chunks_accepted_total[{RI}]))", "audio chunks/s")], unit="pps"),
        panel(lay, "Sensor connections", [target("sum(vigia_sensor_connections)", "open WebSockets"),
                                          target(f"sum by (code) (rate(vigia_sensor_connections_closed_total[{RI}]))",
                                                 "closed {{code}}/s")]),
        panel(lay, "Fusion packets per second", [
            target(f"sum by (outcome) (rate(fusion_packets_total[{RI}]))", "{{outcome}}")], unit="pps"),
        panel(lay, "Telemetry rows written per second", [
            target(f"sum(rate(fusion_telemetry_rows_total[{RI}]))", "rows/s"),
            target("min(fusion_database_up)", "database up")]),
        panel(lay, "Device status", [target(f"sum by (status) (watchdog_devices {leader})", "{{status}}")],
              kind="stat", w=12, h=6, description="Devices by status, from the watchdog leader.",
              options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                       "colorMode": "background", "graphMode": "area", "textMode": "value_and_name"}),
        panel(lay, "Devices offline ratio", [
            target(f'sum(watchdog_devices{{status="OFF"}} {leader}) / clamp_min(sum(watchdog_devices {leader}), 1)',
                   "offline")], kind="gauge", unit="percentunit", w=12, h=6,
            field_extra={"min": 0, "max": 1, "thresholds": {"mode": "absolute", "steps": [
                {"color": "green", "value": None}, {"color": "orange", "value": 0.1},
                {"color": "red", "value": 0.2}]}}),
        panel(lay, "Device status over time", [target(f"sum by (status) (watchdog_devices {leader})", "{{status}}")]),
        panel(lay, "Device status changes per hour", [
            target("sum by (previous, status) (increase(watchdog_device_transitions_total[1h]))",
                   "{{previous}} → {{status}}")]),
        panel(lay, "Anomalies per hour", [
            target("sum by (kind, severity) (increase(fusion_anomalies_total[1h]))", "{{kind}} {{severity}}")]),
        panel(lay, "Open incidents", [target("sum(correlator_open_incidents)", "open")]),
        panel(lay, "Service logs (errors)", [{"datasource": LOKI, "refId": "A", "expr": ERROR_LOGS}],
              kind="logs", w=24, h=10, datasource=LOKI,
              description="Container logs shipped by Grafana Alloy to Loki (label service = compose service)."),
    ]
    return dashboard("vigia-sensors-devices", "Vigia / Sensors and devices", panels,
                     description="Sensor ingest rate, fusion, device status (watchdog) and incidents.")


def notifications() -> dict:
    lay = Layout()
    kind = '{kind=~"$kind"}'
    actions = '{queue=~"notifier[.]actions|notifier[.]retry[.].+"}'
    panels = [
        panel(lay, "Deliveries per second by kind and outcome", [
            target(f"sum by (kind, outcome) (rate(vigia_notifier_deliveries_total{kind}[{RI}]))",
                   "{{kind}} {{outcome}}")], unit="ops",
              description="vigia_notifier_deliveries_total: delivered; retry (failed, tried again after its "
                          "back-off); failed (permanent, or the last retry failed: dead-lettered); skipped "
                          "(delivered or being sent already)."),
        panel(lay, "Failure ratio by kind", [
            target(f'sum by (kind) (rate(vigia_notifier_deliveries_total{{kind=~"$kind", outcome=~"failed|retry"}}'
                   f"[{RI}])) / clamp_min(sum by (kind) (rate(vigia_notifier_deliveries_total"
                   f'{{kind=~"$kind", outcome!="skipped"}}[{RI}])), 1e-9)', "{{kind}}")],
              unit="percentunit", field_extra={"min": 0, "max": 1},
              description="Attempts that failed (retried or for good) among all attempts."),
        panel(lay, "Send time P50/P95/P99 by kind", quantiles("vigia_notifier_send_seconds", "kind", selector=kind),
              unit="s", description="One request to the far side (webhook, SMTP, Telegram, WhatsApp, Modbus)."),
        panel(lay, "Action → delivered P50/P95/P99 by kind",
              quantiles("vigia_notifier_delivery_seconds", "kind", selector=kind), unit="s",
              description="From the action's envelope time to the far side accepting it, retries included."),
        panel(lay, "Actions waiting (RabbitMQ)", [
            target(f"sum by (queue) (rabbitmq_queue_messages_ready{actions})", "{{queue}} ready"),
            target(f"sum by (queue) (rabbitmq_queue_messages_unacked{actions})", "{{queue}} unacked")],
              description="notifier.actions is the backlog KEDA scales the notifier on; notifier.retry.<ms> "
                          "hold retries waiting out their back-off."),
        panel(lay, "Actions handled per second and queue lag P95", [
            target(f'sum by (outcome) (rate(vigia_messages_consumed_total{{queue="notifier.actions"}}[{RI}]))',
                   "{{outcome}}"),
            target(f'histogram_quantile(0.95, sum by (le) (rate(vigia_message_age_seconds_bucket'
                   f'{{queue="notifier.actions"}}[{RI}])))', "lag P95 (s)")],
              description="vigia_messages_consumed_total and vigia_message_age_seconds of the notifier's consumer."),
        panel(lay, "Dead-lettered actions", [
            target('sum(rabbitmq_queue_messages{queue="notifier.actions.dlq"})', "notifier.actions.dlq (RabbitMQ)"),
            target('max(vigia_dlq_messages{queue="notifier.actions.dlq"})', "notifier.actions.dlq (watchdog)")],
              w=24, description="Actions whose recipients failed for good (alert VigiaDLQNotEmpty)."),
    ]
    return dashboard("vigia-notifications", "Vigia / Notifications", panels,
                     variables=[variable("kind", "vigia_notifier_deliveries_total", "kind")],
                     description="Notifier deliveries, failures and latency per channel kind; its queues.")


def learning() -> dict:
    lay = Layout()
    panels = [
        panel(lay, "Forecast refreshes per minute by outcome", [
            target(f"sum by (outcome) (rate(vigia_forecast_refreshes_total[{RI}])) * 60", "{{outcome}}")],
            description="Device metrics the forecast service refreshed (stored; fallback: the statistical model "
                        "stood in for a short history; no_data; failed)."),
        panel(lay, "Forecast refresh time per device metric P50/P95/P99", quantiles("vigia_forecast_seconds"),
              unit="s", description="Read, compare with the forecast in force, forecast, store."),
        panel(lay, "Forecast anomalies per hour by metric", [
            target("sum by (metric) (increase(vigia_forecast_anomalies_total[1h]))", "{{metric}}")],
            description="Readings outside their forecast band, published as anomaly.detected of kind forecast."),
        panel(lay, "False-alarm scoring per hour", [
            target("sum by (source, outcome) (increase(correlator_false_alarm_scores_total[1h]))",
                   "{{source}} {{outcome}}")],
            description="Events the organization's active classifier scored (live or from the evidence bundle); "
                        "marked: a likely false alarm by the organization's threshold; failed: left unscored."),
        panel(lay, "Training runs (24 h) by outcome", [
            target("sum by (outcome) (increase(vigia_trainer_runs_total[24h]))", "{{outcome}}")]),
        panel(lay, "Training run time P50/P95", quantiles("vigia_trainer_run_seconds")[:2], unit="s"),
        panel(lay, "Faces per hour by outcome", [
            target("sum by (outcome) (increase(vigia_vision_faces_total[1h]))", "{{outcome}}")],
            description="Faces found in person boxes of cameras with face recognition on: known, unknown kept "
                        "(the organization stores unknown faces) or dropped."),
        panel(lay, "Face detection and embedding time per frame P50/P95/P99", quantiles("vigia_vision_face_seconds"),
              unit="s"),
    ]
    return dashboard("vigia-learning", "Vigia / Forecasts, faces and learning", panels, time_from="now-24h",
                     description="The forecast service, face recognition in vision, the false-alarm classifier's "
                                 "scoring (correlator) and its training runs (trainer).")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for build in (cameras, latency, ai, sensors, notifications, learning):
        board = build()
        (OUT / f"{board['uid']}.json").write_text(json.dumps(board, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
