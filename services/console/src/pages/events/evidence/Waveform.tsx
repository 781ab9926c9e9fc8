/**
 * An audio file of the bundle as a waveform on a canvas (its samples decoded with WebAudio, one
 * min/max bar per pixel column), with a player whose position moves a cursor over the waveform.
 */
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import type { EvidenceFile } from "../queries";
import { drawWaveform, peaks } from "./waveform";

const COLUMNS = 800;

async function decode(url: string): Promise<{ pairs: Float32Array; seconds: number; rate: number }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  // An offline context decodes without starting audio output (no autoplay policy involved).
  const context = new OfflineAudioContext(1, 1, 44_100);
  const audio = await context.decodeAudioData(bytes);
  return { pairs: peaks(audio.getChannelData(0), COLUMNS), seconds: audio.duration, rate: audio.sampleRate };
}

export function Waveform({ file }: { file: EvidenceFile }) {
  const { t } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  const [position, setPosition] = useState(0);
  const decoded = useQuery({
    queryKey: ["events", "evidence-audio", file.sha256 ?? file.url],
    queryFn: () => decode(file.url),
    staleTime: Infinity,
    retry: false,
  });

  useEffect(() => {
    const element = canvas.current;
    if (!element || !decoded.data) return;
    const style = getComputedStyle(element);
    drawWaveform(element, decoded.data.pairs, style.color, style.getPropertyValue("--destructive").trim() || "red",
      decoded.data.seconds > 0 ? position / decoded.data.seconds : 0);
    element.dataset.drawn = "true";
  }, [decoded.data, position]);

  return (
    <div className="flex flex-col gap-2">
      {decoded.isError ? (
        <p className="text-sm text-destructive">{t("events.evidence.decodeFailed")}</p>
      ) : !decoded.data ? (
        <p className="text-sm text-muted-foreground" aria-busy="true">{t("events.evidence.decoding")}</p>
      ) : null}
      <canvas ref={canvas} width={COLUMNS} height={120} data-testid="evidence-waveform" role="img"
        aria-label={t("events.evidence.waveform", { name: file.name })}
        className="h-28 w-full rounded bg-muted text-primary" />
      <audio controls preload="metadata" src={file.url} className="w-full" aria-label={t("events.evidence.audioOf", { name: file.name })}
        onTimeUpdate={(e) => setPosition(e.currentTarget.currentTime)} />
    </div>
  );
}
