/**
 * One camera's live picture: WebRTC when a stream server has the camera (sub-second), else HLS,
 * else its latest frames; the kind of stream and how far behind now it is, retry state and "jump
 * to live". A stream that keeps failing falls back to the next kind. ``active`` false stops the
 * stream (no socket, no requests) and keeps the last picture, marked paused. ``children`` are
 * drawn over the picture in its own coordinates (the zone editor).
 */
import { Radio, RotateCw } from "lucide-react";
import { type ReactNode, useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";

import { cn } from "@/lib/utils";

import { hasHls, hasWebrtc } from "./probe";
import { BEHIND_MS, formatDelay } from "./stream";
import { useFrames } from "./useFrames";
import { useHls } from "./useHls";
import { useWebrtc } from "./useWebrtc";

export type StreamKind = "probing" | "webrtc" | "hls" | "frames";

/** The kind a tile plays: the first of WebRTC, HLS, frames that the camera has and has not failed. */
function useStreamKind(camera: string, enabled: boolean, active: boolean): [StreamKind, (failed: StreamKind) => void] {
  const [kind, setKind] = useState<StreamKind>(enabled ? "probing" : "frames");
  const [webrtcFailed, setWebrtcFailed] = useState(false);
  useEffect(() => {
    if (kind !== "probing" || !active) return;
    let current = true;
    void (async () => {
      const next = !webrtcFailed && await hasWebrtc(camera) ? "webrtc" : await hasHls(camera) ? "hls" : "frames";
      if (current) setKind(next);
    })();
    return () => {
      current = false;
    };
  }, [camera, kind, active, webrtcFailed]);
  const fallBack = useCallback((failed: StreamKind) => {
    if (failed === "webrtc") {
      setWebrtcFailed(true);
      setKind("probing");
    } else {
      setKind("frames");
    }
  }, []);
  return [kind, fallBack];
}

/** Re-renders every second while ``on``. */
function useTick(on: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [on]);
  return now;
}

export function CameraView({ camera, name, enabled = true, active, fps, className, maxHeight, children, onPicture }: {
  camera: string;
  name: string;
  enabled?: boolean;
  active: boolean;
  fps?: number;
  className?: string;
  /** A CSS length the picture's height stays within (its width follows its aspect ratio). */
  maxHeight?: string;
  children?: ReactNode;
  /** Told once a picture is shown (the zone editor draws on it). */
  onPicture?: () => void;
}) {
  const { t, i18n } = useTranslation();
  const [kind, fallBack] = useStreamKind(camera, enabled, active);
  const [aspect, setAspect] = useState(16 / 9);
  const [shown, setShown] = useState(false);
  const img = useRef<HTMLImageElement>(null);
  const video = useRef<HTMLVideoElement>(null);
  const captured = useRef<number | null>(null);
  const urls = useRef<string[]>([]);

  const onFrame = useCallback((url: string, capturedMs: number) => {
    const element = img.current;
    if (!element) return URL.revokeObjectURL(url);
    urls.current.push(url);
    captured.current = capturedMs;
    element.src = url;
    element.dataset.captured = String(capturedMs);
  }, []);
  const frames = useFrames(camera, active && kind === "frames", onFrame, fps);
  const webrtc = useWebrtc(video, camera, active && kind === "webrtc");
  const hls = useHls(video, camera, active && kind === "hls");
  useEffect(() => {
    if (webrtc.state === "failed") fallBack("webrtc");
  }, [webrtc.state, fallBack]);
  useEffect(() => {
    if (hls.state === "failed") fallBack("hls");
  }, [hls.state, fallBack]);
  useEffect(() => () => urls.current.forEach((u) => URL.revokeObjectURL(u)), []);

  const onImageLoad = () => {
    const element = img.current!;
    // Every picture before the one now shown is done with.
    const at = urls.current.indexOf(element.src);
    if (at > 0) urls.current.splice(0, at).forEach((u) => URL.revokeObjectURL(u));
    if (element.naturalWidth && element.naturalHeight) setAspect(element.naturalWidth / element.naturalHeight);
    if (!shown) {
      setShown(true);
      onPicture?.();
    }
  };
  const onVideoMetadata = () => {
    const element = video.current!;
    if (element.videoWidth && element.videoHeight) setAspect(element.videoWidth / element.videoHeight);
    if (!shown) {
      setShown(true);
      onPicture?.();
    }
  };

  const now = useTick(active);
  const player = kind === "webrtc" ? webrtc : kind === "hls" ? hls : null;
  const state = player ? player.state : kind === "frames" ? frames.state : "connecting";
  const retryAt = player ? player.retryAt : frames.retryAt;
  const delay = !active ? null : player ? player.delayMs() : captured.current !== null ? now - captured.current : null;
  const behind = delay !== null && delay > BEHIND_MS;
  const status = !active ? t("cameras.tile.paused")
    : state === "retrying" && retryAt ? t("cameras.tile.retrying", { seconds: Math.max(0, Math.ceil((retryAt - now) / 1000)) })
    : state === "notFound" ? t("cameras.tile.notFound")
    : state === "waiting" ? t("cameras.tile.waiting")
    : state === "connecting" ? t("cameras.tile.connecting") : null;
  const jump = player ? player.jumpToLive : frames.reconnect;

  return (
    <div className={cn("relative overflow-hidden rounded-md bg-muted", className)} style={{ aspectRatio: aspect, maxWidth: maxHeight ? `calc(${maxHeight} * ${aspect})` : undefined }}
      data-testid="camera-view" data-camera={camera} data-kind={kind} data-state={active ? state : "paused"}>
      {player ? (
        <video ref={video} className="absolute inset-0 h-full w-full object-fill" muted playsInline autoPlay
          aria-label={t("cameras.tile.picture", { name })} onLoadedMetadata={onVideoMetadata} />
      ) : (
        <img ref={img} alt={t("cameras.tile.picture", { name })} onLoad={onImageLoad} decoding="async"
          className={cn("absolute inset-0 h-full w-full object-fill", !shown && "invisible")} />
      )}
      {children}
      <div className="pointer-events-none absolute inset-x-0 top-0 flex items-center justify-between gap-2 p-1.5 text-xs">
        <span className="rounded bg-background/80 px-1.5 py-0.5 font-medium" data-testid="stream-kind">
          {kind === "probing" ? "…" : t(`cameras.tile.kind.${kind}`)}
        </span>
        {delay !== null && (
          <span className={cn("rounded bg-background/80 px-1.5 py-0.5 tabular-nums", behind && "text-amber-700 dark:text-amber-400")}
            data-testid="stream-delay">
            {t("cameras.tile.delay", { delay: formatDelay(delay, i18n.language) })}
          </span>
        )}
      </div>
      {status && (
        <p className="absolute inset-x-0 bottom-0 bg-background/80 px-2 py-1 text-xs" role="status" data-testid="stream-status">
          {status}
        </p>
      )}
      {active && (behind || state === "retrying") && (
        <button type="button" onClick={jump}
          className="absolute bottom-1.5 right-1.5 inline-flex items-center gap-1 rounded-md bg-primary px-2 py-1 text-xs text-primary-foreground focus-visible:outline-2 focus-visible:outline-ring">
          {state === "retrying" ? <RotateCw className="size-3" aria-hidden /> : <Radio className="size-3" aria-hidden />}
          {t("cameras.tile.jumpToLive")}
        </button>
      )}
    </div>
  );
}
