import * as cameras from "@/pages/cameras/messages";
import * as plates from "@/pages/plates/messages";
import * as events from "@/pages/events/messages";
import * as faces from "@/pages/faces/messages";
import * as fleet from "@/pages/fleet/messages";
import * as models from "@/pages/models/messages";
import * as pipelines from "@/pages/pipelines/messages";
import * as settings from "@/pages/settings/messages";
import type { Messages } from "./pt-BR";

/** English. */
export const en: Messages = {
  app: { name: "Vigia", language: "Language", signOut: "Sign out", skipToContent: "Skip to content" },
  signIn: {
    title: "Sign in to Vigia",
    subtitle: "Operator console",
    email: "E-mail",
    password: "Password",
    submit: "Sign in",
    submitting: "Signing in…",
    expired: "Your session expired. Please sign in again.",
    loggedOut: "You signed out of Vigia.",
    idle: "You were signed out for inactivity. Please sign in again.",
    errors: {
      invalid_credentials: "Wrong e-mail or password.",
      throttled: "Too many attempts. Try again in {{minutes}} min.",
      organization_disabled: "This account's organization is disabled.",
      unavailable: "The server did not answer. Try again.",
    },
  },
  dashboard: {
    title: "Dashboard",
    range: "Range",
    hours_24: "24 hours",
    hours_168: "7 days",
    kpi: {
      cameras: "Cameras online",
      camerasOf: "of {{total}}",
      devices: "Devices online",
      devicesDetail: "{{warning}} warning · {{offline}} off",
      openEvents: "Open events",
      passagesToday: "Passages today",
      detections: "Detections in range",
      events: "Events in range",
    },
    severity: { critical: "critical", high: "high", medium: "medium", low: "low" },
    loadError: "Could not load",
    charts: {
      title: "Charts",
      detectionsPerHour: "Detections per hour",
      eventsBySeverity: "Events by severity",
      detections: "Detections",
      events: "Events",
      detectionsNone: "No detections in the range.",
      detectionsSummary: "{{total}} detections in the range; the busiest hour was {{hour}}, with {{count}}.",
      eventsSummary: "Events in the range by severity: {{list}}.",
    },
    timeZone: "Times in {{zone}}",
  },
  feed: {
    title: "Live",
    open: "connected",
    connecting: "connecting…",
    closed: "disconnected",
    empty: "No messages yet.",
    sound: "Sound for critical events",
    critical: "New critical event",
    new_detection: "Detection: {{label}}",
    new_event: "Event {{type}} ({{severity}})",
    event_triaged_acknowledged: "Event {{type}} acknowledged by {{who}}",
    event_triaged_resolved: "Event {{type}} resolved by {{who}}",
    event_triaged_classified: "Event {{type}} classified: {{classification}}",
    device_status_update: "Device {{device}}: {{previous}} → {{status}}",
    camera_health: "Camera {{camera}}: {{status}}",
    plate_read: "Plate read: {{plate}}",
    pipeline_status_update: "Pipeline {{pipeline}}: {{status}}",
    forecast_updated: "Forecast of device {{device}} ({{metric}}) updated, {{count}} reading(s) outside the previous band",
  },
  nav: { dashboard: "Dashboard", cameras: "Cameras", plates: "Plates", events: "Events", fleet: "Fleet", pipelines: "Pipelines", faces: "Faces", models: "Models", settings: "Settings", menu: "Menu", theme: "Theme", light: "Light", dark: "Dark", darkTheme: "Dark theme" },
  cameras: cameras.en,
  plates: plates.en,
  events: events.en,
  fleet: fleet.en,
  pipelines: pipelines.en,
  settings: settings.en,
  faces: faces.en,
  models: models.en,
};
