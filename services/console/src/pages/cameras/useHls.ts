/**
 * A camera's HLS stream (MediaMTX) in a <video> while ``active``: hls.js with the access token as
 * the Basic password MediaMTX hands to control, retried with back-off after a fatal error, torn
 * down (no more playlist or segment requests) when the tile is not shown. ``failed`` after a few
 * attempts lets the tile fall back to the latest-frames stream. hls.js is loaded on first use,
 * so pages without HLS never download it.
 */
import type Hls from "hls.js";
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";

import { session } from "@/app";

import { backoffMs, streamAuthorization, hlsUrl } from "./stream";

export type HlsState = "idle" | "connecting" | "live" | "retrying" | "failed";

const ATTEMPTS = 4;

export function useHls(video: RefObject<HTMLVideoElement | null>, camera: string, active: boolean) {
  const [state, setState] = useState<HlsState>("idle");
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const player = useRef<Hls | null>(null);

  useEffect(() => {
    const element = video.current;
    if (!active || !element) {
      setState("idle");
      return;
    }
    let attempts = 0;
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | null = null;

    const start = async () => {
      if (stopped) return;
      setState("connecting");
      setRetryAt(null);
      const { default: Hls } = await import("hls.js");
      if (stopped) return;
      if (!Hls.isSupported()) return setState("failed"); // no Media Source Extensions: frames instead
      const hls = new Hls({
        lowLatencyMode: true,
        liveSyncDurationCount: 2,
        xhrSetup: (xhr) => {
          const token = session.accessToken;
          if (token) xhr.setRequestHeader("Authorization", streamAuthorization(token));
        },
      });
      player.current = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, () => {
        element.play().catch(() => undefined); // muted autoplay; a pause in between is no error
      });
      hls.on(Hls.Events.FRAG_BUFFERED, () => {
        attempts = 0;
        setState("live");
      });
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        hls.destroy();
        player.current = null;
        if (stopped) return;
        if (++attempts >= ATTEMPTS) return setState("failed");
        const delay = backoffMs(attempts - 1);
        setState("retrying");
        setRetryAt(Date.now() + delay);
        const status = data.response?.code;
        retry = setTimeout(async () => {
          if ((status === 401 || status === 403) && !(await session.refresh())) return setState("failed");
          void start();
        }, delay);
      });
      hls.loadSource(hlsUrl(window.location.origin, camera));
      hls.attachMedia(element);
    };

    void start();
    return () => {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      player.current?.destroy();
      player.current = null;
      element.removeAttribute("src");
      element.load();
    };
  }, [video, camera, active, generation]);

  /** How far behind now the picture is (ms): the segment's wall-clock time, else hls.js's latency. */
  const delayMs = useCallback((): number | null => {
    const hls = player.current;
    if (!hls) return null;
    if (hls.playingDate) return Date.now() - hls.playingDate.getTime();
    return Number.isFinite(hls.latency) ? hls.latency * 1000 : null;
  }, []);

  /** Seek to the live edge, or restart the player when it is not playing. */
  const jumpToLive = useCallback(() => {
    const hls = player.current;
    const element = video.current;
    if (hls && element && hls.liveSyncPosition !== null) {
      element.currentTime = hls.liveSyncPosition;
      element.play().catch(() => undefined);
    } else {
      setGeneration((g) => g + 1);
    }
  }, [video]);

  return { state, retryAt, delayMs, jumpToLive };
}
