/** Portuguese (Brazil): the console's first language. Keys are shared with en.ts (checked by tsc).
 * Each area of the console keeps its own texts in src/pages/<area>/messages.ts. */
import * as cameras from "@/pages/cameras/messages";
import * as plates from "@/pages/plates/messages";
import * as events from "@/pages/events/messages";
import * as faces from "@/pages/faces/messages";
import * as fleet from "@/pages/fleet/messages";
import * as models from "@/pages/models/messages";
import * as pipelines from "@/pages/pipelines/messages";
import * as settings from "@/pages/settings/messages";
export const ptBR = {
  app: { name: "Vigia", language: "Idioma", signOut: "Sair", skipToContent: "Pular para o conteúdo" },
  signIn: {
    title: "Entrar no Vigia",
    subtitle: "Console de operação",
    email: "E-mail",
    password: "Senha",
    submit: "Entrar",
    submitting: "Entrando…",
    expired: "Sua sessão expirou. Entre novamente.",
    loggedOut: "Você saiu do Vigia.",
    idle: "Sua sessão foi encerrada por inatividade. Entre novamente.",
    errors: {
      invalid_credentials: "E-mail ou senha incorretos.",
      throttled: "Muitas tentativas. Tente de novo em {{minutes}} min.",
      organization_disabled: "A organização desta conta está desativada.",
      unavailable: "O servidor não respondeu. Tente de novo.",
    },
  },
  dashboard: {
    title: "Painel",
    range: "Período",
    hours_24: "24 horas",
    hours_168: "7 dias",
    kpi: {
      cameras: "Câmeras online",
      camerasOf: "de {{total}}",
      devices: "Dispositivos online",
      devicesDetail: "{{warning}} em alerta · {{offline}} desligados",
      openEvents: "Eventos abertos",
      passagesToday: "Passagens hoje",
      detections: "Detecções no período",
      events: "Eventos no período",
    },
    severity: { critical: "críticos", high: "altos", medium: "médios", low: "baixos" },
    loadError: "Não foi possível carregar",
    charts: {
      title: "Gráficos",
      detectionsPerHour: "Detecções por hora",
      eventsBySeverity: "Eventos por severidade",
      detections: "Detecções",
      events: "Eventos",
      detectionsNone: "Nenhuma detecção no período.",
      detectionsSummary: "{{total}} detecções no período; o pico foi às {{hour}}, com {{count}}.",
      eventsSummary: "Eventos no período por severidade: {{list}}.",
    },
    timeZone: "Horários em {{zone}}",
  },
  feed: {
    title: "Ao vivo",
    open: "conectado",
    connecting: "conectando…",
    closed: "desconectado",
    empty: "Nenhuma mensagem ainda.",
    sound: "Som para eventos críticos",
    critical: "Evento crítico novo",
    new_detection: "Detecção: {{label}}",
    new_event: "Evento {{type}} ({{severity}})",
    event_triaged_acknowledged: "Evento {{type}} reconhecido por {{who}}",
    event_triaged_resolved: "Evento {{type}} resolvido por {{who}}",
    event_triaged_classified: "Evento {{type}} classificado: {{classification}}",
    device_status_update: "Dispositivo {{device}}: {{previous}} → {{status}}",
    camera_health: "Câmera {{camera}}: {{status}}",
    plate_read: "Placa lida: {{plate}}",
    pipeline_status_update: "Pipeline {{pipeline}}: {{status}}",
    forecast_updated: "Previsão do dispositivo {{device}} ({{metric}}) atualizada, {{count}} leitura(s) fora da faixa anterior",
  },
  nav: { dashboard: "Painel", cameras: "Câmeras", plates: "Placas", events: "Eventos", fleet: "Frota", pipelines: "Automações", faces: "Rostos", models: "Modelos", settings: "Configurações", menu: "Menu", theme: "Tema", light: "Claro", dark: "Escuro", darkTheme: "Tema escuro" },
  cameras: cameras.ptBR,
  plates: plates.ptBR,
  events: events.ptBR,
  fleet: fleet.ptBR,
  pipelines: pipelines.ptBR,
  settings: settings.ptBR,
  faces: faces.ptBR,
  models: models.ptBR,
};

export type Messages = typeof ptBR;
