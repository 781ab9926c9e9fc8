/**
 * A camera's latest frames from the live service while ``active``: one WebSocket, reconnecting
 * with back-off (a refused token renews the session first), closed as soon as the tile is not
 * shown any more, so an off-screen tile costs neither the browser, the network nor live anything.
 * Each frame goes to ``onFrame`` as a blob URL (the page's CSP allows blob: images, not the live
 * origin's); the caller revokes it once shown.
 */
import { useCallback, useEffect, useRef, useState } from "react";

import { session } from "@/app";

import { backoffMs, CLOSE_BAD_REQUEST, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED, feedUrl, framesUrl, parseFrame } from "./stream";

export type FramesState = "idle" | "connecting" | "waiting" | "live" | "retrying" | "notFound" | "failed";

export function useFrames(camera: string, active: boolean, onFrame: (url: string, capturedMs: number) => void,
  fps?: number) {
  const [state, setState] = useState<FramesState>("idle");
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const handler = useRef(onFrame);
  handler.current = onFrame;

  useEffect(() => {
    if (!active) {
      setState("idle");
      return;
    }
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempts = 0;
    let stopped = false;

    const connect = () => {
      const token = session.accessToken;
      if (stopped || !token) return;
      setState("connecting");
      setRetryAt(null);
      const ws = new WebSocket(framesUrl(feedUrl(), camera, token, fps));
      socket = ws;
      ws.binaryType = "arraybuffer";
      ws.onopen = () => setState("waiting");
      ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
        if (typeof event.data === "string") return;
        const frame = parseFrame(event.data);
        if (!frame) return;
        attempts = 0;
        setState("live");
        handler.current(URL.createObjectURL(new Blob([frame.jpeg as BlobPart], { type: "image/jpeg" })), frame.capturedMs);
      };
      ws.onclose = (event) => {
        socket = null;
        if (stopped) return;
        if (event.code === CLOSE_NOT_FOUND) return setState("notFound");
        if (event.code === CLOSE_BAD_REQUEST) return setState("failed");
        const delay = backoffMs(attempts++);
        setState("retrying");
        setRetryAt(Date.now() + delay);
        retry = setTimeout(async () => {
          if (event.code === CLOSE_UNAUTHORIZED && !(await session.refresh())) return setState("failed");
          connect();
        }, delay);
      };
    };

    connect();
    return () => {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      const ws = socket;
      if (!ws) return;
      ws.onmessage = null;
      // Closing a socket still connecting makes Chromium log an error: close it once open instead.
      if (ws.readyState === WebSocket.CONNECTING) ws.onopen = () => ws.close(1000, "tile hidden");
      else ws.close(1000, "tile hidden");
    };
  }, [camera, active, fps, generation]);

  /** Reconnect now (jump to live): forget the back-off and open a fresh socket. */
  const reconnect = useCallback(() => setGeneration((g) => g + 1), []);
  return { state, retryAt, reconnect };
}
