import { describe, expect, it } from "vitest";

import i18n from "@/i18n";
import { parseFeedMessage } from "@/live/messages";

import { describeFeedMessage } from "./LiveFeed";

// What live sends for a plate.read envelope (services/live/vigia/live/wire.py: the PlateRead data as is).
const PLATE_READ = JSON.stringify({
  type: "plate_read", id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", time: "2026-12-07T00:42:52.000000001Z",
  plate_read: {
    camera: "01a24df3-f0a0-709c-a8f9-f07a2a5a5b47", visit: "v-17", plate_text: "ZVC1I00", confidence: 0.97,
    votes: 4, first_seen: "2026-12-07T00:42:49Z", last_seen: "2026-12-07T00:42:52Z", snapshot_key: null,
    label: "car", agreeing: 4, runner_ups: [], crop_key: null, final: true,
  },
});

describe("the live feed's lines", () => {
  it("names an event's type and its severity in words", async () => {
    const message = parseFeedMessage(JSON.stringify({
      type: "new_event", id: "m1", time: "2026-12-07T02:00:00Z", change: "created",
      event: { id: "e1", event_type: "live_check", severity: "critical" },
    }));
    await i18n.changeLanguage("pt-BR");
    expect(describeFeedMessage(message!, i18n.t)).toBe("Evento live_check (Crítica)");
    await i18n.changeLanguage("en");
    expect(describeFeedMessage(message!, i18n.t)).toBe("Event live_check (Critical)");
  });

  it("says who acknowledged or resolved an event, and a new verdict, in words", async () => {
    // What live sends for control's event.triaged (services/live/vigia/live/wire.py).
    const triaged = (change: string, fields: Record<string, unknown>) => parseFeedMessage(JSON.stringify({
      type: "event_triaged", id: `m-${change}`, time: "2026-12-07T02:01:00Z", change,
      event: { id: "e1", event_type: "door_forced", severity: "high", status: "acknowledged", classification: "unclassified",
        acknowledged_by_email: "bia@demo.vigia.local", resolved_by_email: null, ...fields },
    }))!;
    const acknowledged = triaged("acknowledged", {});
    const resolved = triaged("resolved", { status: "resolved", resolved_by_email: "caio@demo.vigia.local" });
    const classified = triaged("classified", { classification: "false_positive" });
    const gone = triaged("acknowledged", { acknowledged_by_email: null });
    await i18n.changeLanguage("pt-BR");
    expect([acknowledged, resolved, classified, gone].map((m) => describeFeedMessage(m, i18n.t))).toEqual([
      "Evento door_forced reconhecido por bia@demo.vigia.local", "Evento door_forced resolvido por caio@demo.vigia.local",
      "Evento door_forced classificado: Alarme falso", "Evento door_forced reconhecido por usuário removido"]);
    await i18n.changeLanguage("en");
    expect([acknowledged, resolved, classified, gone].map((m) => describeFeedMessage(m, i18n.t))).toEqual([
      "Event door_forced acknowledged by bia@demo.vigia.local", "Event door_forced resolved by caio@demo.vigia.local",
      "Event door_forced classified: False alarm", "Event door_forced acknowledged by deleted user"]);
  });

  it("names the plate a visit was read as", async () => {
    const message = parseFeedMessage(PLATE_READ);
    expect(message).not.toBeNull();
    await i18n.changeLanguage("pt-BR");
    expect(describeFeedMessage(message!, i18n.t)).toBe("Placa lida: ZVC1I00");
    await i18n.changeLanguage("en");
    expect(describeFeedMessage(message!, i18n.t)).toBe("Plate read: ZVC1I00");
  });
});
