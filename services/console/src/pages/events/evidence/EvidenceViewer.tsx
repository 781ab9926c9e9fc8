/**
 * The evidence viewer: every file of the event's bundle (the correlator's EvidenceBuilder writes
 * video.mp4 and video-<camera>.mp4, audio.wav and audio-<device>.wav, sensors.csv, metadata.json
 * and, last, manifest.json) shown: videos in a player, audio as a waveform drawn from the decoded
 * samples with a player, the sensor readings of the window as a chart, the metadata, and the
 * manifest's list of files with their sizes and checksums. One click downloads all of them as a ZIP
 * (each file checked against the manifest's SHA-256 first).
 */
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense, useState } from "react";
import { useTranslation } from "react-i18next";

import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";

import { evidence, type EvidenceFile } from "../queries";
import type { EventRow } from "../search";
import { downloadBundle } from "./download";
import { Metadata } from "./Metadata";
import { Waveform } from "./Waveform";

// uPlot only loads with a bundle that has readings.
const SensorChart = lazy(() => import("./SensorChart").then((m) => ({ default: m.SensorChart })));

const isVideo = (f: EvidenceFile) => /^video(-.+)?\.mp4$/.test(f.name);
const isAudio = (f: EvidenceFile) => /^audio(-.+)?\.wav$/.test(f.name);

function formatSize(bytes: number, locale: string): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toLocaleString(locale, { maximumFractionDigits: 1 })} KiB`;
  return `${(bytes / 1024 ** 2).toLocaleString(locale, { maximumFractionDigits: 1 })} MiB`;
}

function Download({ event, files }: { event: EventRow; files: EvidenceFile[] }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  return (
    <div className="flex flex-col items-end gap-1">
      <Button data-testid="evidence-download" disabled={busy} onClick={async () => {
        setBusy(true);
        setFailure(null);
        try {
          await downloadBundle(event, files, (name) => t("events.evidence.checksum", { name }));
        } catch (error) {
          setFailure(t("events.evidence.downloadFailed", { reason: (error as Error).message }));
        } finally {
          setBusy(false);
        }
      }}>
        {busy ? t("events.evidence.downloading") : t("events.evidence.download")}
      </Button>
      {failure && <p role="alert" className="text-sm text-destructive">{failure}</p>}
    </div>
  );
}

export function EvidenceViewer({ event, timeZone }: { event: EventRow; timeZone: string }) {
  const { t, i18n } = useTranslation();
  const bundle = useQuery(evidence(event.id));
  const files = bundle.data?.files ?? [];
  const videos = files.filter(isVideo);
  const audios = files.filter(isAudio);
  const sensors = files.find((f) => f.name === "sensors.csv");
  const metadata = files.find((f) => f.name === "metadata.json");
  const ready = bundle.data?.ready ?? false;

  return (
    <section aria-labelledby="evidence-title" className="flex flex-col gap-4" data-testid="evidence" data-ready={ready}>
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="evidence-title" className="text-xl font-semibold">{t("events.evidence.title")}</h2>
        {ready && <Download event={event} files={files} />}
      </div>
      {bundle.isError ? (
        <p className="text-sm text-destructive">{t("events.evidence.loadError")}</p>
      ) : !bundle.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.loading")}</p>
      ) : files.length === 0 ? (
        <p className="text-sm text-muted-foreground" data-testid="evidence-pending">
          {event.ended_at ? t("events.evidence.pending") : t("events.evidence.none")}
        </p>
      ) : (
        <>
          {!ready && <p className="text-sm text-muted-foreground">{t("events.evidence.pending")}</p>}
          <div className="grid grid-cols-1 gap-4 lg:grid-cols-2">
            {videos.map((file) => (
              <Card key={file.name}>
                <CardHeader><CardTitle className="text-base text-foreground">
                  {videos.length > 1 ? t("events.evidence.videoOf", { name: file.name }) : t("events.evidence.video")}
                </CardTitle></CardHeader>
                <CardContent>
                  <video controls preload="metadata" playsInline src={file.url} className="w-full rounded bg-black"
                    data-testid="evidence-video" aria-label={t("events.evidence.videoOf", { name: file.name })} />
                </CardContent>
              </Card>
            ))}
            {audios.map((file) => (
              <Card key={file.name}>
                <CardHeader><CardTitle className="text-base text-foreground">
                  {audios.length > 1 ? t("events.evidence.audioOf", { name: file.name }) : t("events.evidence.audio")}
                </CardTitle></CardHeader>
                <CardContent><Waveform file={file} /></CardContent>
              </Card>
            ))}
          </div>
          {sensors && (
            <Card>
              <CardHeader><CardTitle className="text-base text-foreground">{t("events.evidence.sensors")}</CardTitle></CardHeader>
              <CardContent>
                <Suspense fallback={<p className="text-sm text-muted-foreground">{t("events.loading")}</p>}>
                  <SensorChart file={sensors} timeZone={timeZone} event={event} />
                </Suspense>
              </CardContent>
            </Card>
          )}
          {metadata && <Metadata file={metadata} timeZone={timeZone} />}
          <Card>
            <CardHeader><CardTitle className="text-base text-foreground">{t("events.evidence.files")}</CardTitle></CardHeader>
            <CardContent className="overflow-x-auto">
              <table className="w-full text-sm" data-testid="evidence-files">
                <thead>
                  <tr className="border-b text-left text-muted-foreground">
                    <th scope="col" className="py-1 pr-3 font-medium">{t("events.evidence.name")}</th>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("events.evidence.size")}</th>
                    <th scope="col" className="py-1 pr-3 font-medium">{t("events.evidence.sha256")}</th>
                  </tr>
                </thead>
                <tbody>
                  {files.map((file) => (
                    <tr key={file.name} className="border-b last:border-b-0">
                      <td className="py-1 pr-3">
                        <a href={file.url} target="_blank" rel="noreferrer" className="underline underline-offset-2">{file.name}</a>
                      </td>
                      <td className="py-1 pr-3 tabular-nums">{formatSize(file.size, i18n.language)}</td>
                      <td className="max-w-[16rem] truncate py-1 pr-3 font-mono text-xs" title={file.sha256 ?? ""}>{file.sha256 ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </CardContent>
          </Card>
        </>
      )}
    </section>
  );
}
