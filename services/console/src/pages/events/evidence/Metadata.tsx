/** The bundle's metadata.json: the seed's event record (flags, score, magnitudes, the window), and the whole JSON. */
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { formatDateTime } from "@/lib/format";

import type { EvidenceFile } from "../queries";

interface EvidenceMetadata {
  timestamp?: string;
  ended_at?: string;
  magnetic_anomaly?: boolean;
  audio_anomaly?: boolean;
  humanoid_detected?: boolean;
  correlation_score?: number | null;
  magnetic_magnitude?: number | null;
  audio_peak_db?: number | null;
  telemetry_rows?: number;
  storage_path?: string;
  window?: { start?: string; end?: string; margin_s?: number };
  [key: string]: unknown;
}

export function Metadata({ file, timeZone }: { file: EvidenceFile; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const metadata = useQuery({
    queryKey: ["events", "evidence-metadata", file.sha256 ?? file.url],
    queryFn: async () => {
      const response = await fetch(file.url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return (await response.json()) as EvidenceMetadata;
    },
    staleTime: Infinity,
  });
  const m = metadata.data;
  const locale = i18n.language;
  const when = (iso?: string) => (iso ? formatDateTime(iso, timeZone, locale) : "—");
  const yes = (flag?: boolean) => (flag ? t("events.evidence.yes") : t("events.evidence.no"));
  const number = (n?: number | null) => (n === null || n === undefined ? "—" : n.toLocaleString(locale, { maximumFractionDigits: 3 }));
  return (
    <Card data-testid="evidence-metadata">
      <CardHeader><CardTitle className="text-base text-foreground">{t("events.evidence.metadata")}</CardTitle></CardHeader>
      <CardContent>
        {metadata.isError ? (
          <p className="text-sm text-destructive">{t("events.evidence.loadError")}</p>
        ) : !m ? (
          <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.loading")}</p>
        ) : (
          <>
            <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4">
              {([
                [t("events.detail.started"), when(m.timestamp)],
                [t("events.detail.ended"), when(m.ended_at)],
                [t("events.evidence.window"), `${when(m.window?.start)} – ${when(m.window?.end)} (${t("events.evidence.margin", { seconds: m.window?.margin_s ?? 0 })})`],
                [t("events.evidence.correlation"), number(m.correlation_score)],
                [t("events.evidence.magnetic"), yes(m.magnetic_anomaly)],
                [t("events.evidence.audioAnomaly"), yes(m.audio_anomaly)],
                [t("events.evidence.humanoid"), yes(m.humanoid_detected)],
                [t("events.evidence.magnitude"), number(m.magnetic_magnitude)],
                [t("events.evidence.audioPeak"), number(m.audio_peak_db)],
                [t("events.evidence.telemetryRows"), number(m.telemetry_rows)],
                [t("events.evidence.storage"), m.storage_path ?? "—"],
              ] as const).map(([label, value]) => (
                <div key={label} className="flex flex-col gap-0.5">
                  <dt className="text-xs text-muted-foreground">{label}</dt>
                  <dd className="break-all">{value}</dd>
                </div>
              ))}
            </dl>
            <details className="mt-3">
              <summary className="cursor-pointer text-sm">{t("events.evidence.raw")}</summary>
              <pre className="mt-2 max-h-80 overflow-auto rounded bg-muted p-2 text-xs" data-testid="evidence-metadata-json">
                {JSON.stringify(m, null, 2)}
              </pre>
            </details>
          </>
        )}
      </CardContent>
    </Card>
  );
}
