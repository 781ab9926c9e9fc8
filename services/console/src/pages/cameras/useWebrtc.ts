/**
 * A camera's WebRTC stream (MediaMTX's WHEP) in a <video> while ``active``: one receive-only
 * video transceiver, the offer POSTed with the access token as the Basic password MediaMTX hands
 * to control, the session DELETEd when the tile stops showing it. A refused token is refreshed
 * once; a failed exchange or a connection that drops is retried with back-off, and ``failed``
 * after ATTEMPTS lets the tile fall back to HLS. A connection that never comes up (within
 * CONNECT_MS) is ``failed`` at once: the UDP path to MediaMTX is closed and retrying cannot help.
 */
import { type RefObject, useCallback, useEffect, useRef, useState } from "react";

import { session } from "@/app";

import { backoffMs, streamAuthorization, whepUrl } from "./stream";
import { exchange, gathered, playoutDelayMs, WhepError } from "./whep";

export type WebrtcState = "idle" | "connecting" | "live" | "retrying" | "failed";

const ATTEMPTS = 3;
const GATHER_MS = 2_000;
const CONNECT_MS = 10_000;

export function useWebrtc(video: RefObject<HTMLVideoElement | null>, camera: string, active: boolean) {
  const [state, setState] = useState<WebrtcState>("idle");
  const [retryAt, setRetryAt] = useState<number | null>(null);
  const [generation, setGeneration] = useState(0);
  const delay = useRef<number | null>(null);

  useEffect(() => {
    const element = video.current;
    if (!active || !element) {
      setState("idle");
      return;
    }
    let attempts = 0;
    let stopped = false;
    let peer: RTCPeerConnection | null = null;
    let hangUp: string | null = null;
    const timers = new Set<ReturnType<typeof setTimeout | typeof setInterval>>();

    const close = () => {
      timers.forEach((timer) => clearTimeout(timer));
      timers.clear();
      peer?.close();
      peer = null;
      const token = session.accessToken;
      if (hangUp && token) {
        void fetch(hangUp, { method: "DELETE", keepalive: true, headers: { Authorization: streamAuthorization(token) } })
          .catch(() => undefined);
      }
      hangUp = null;
      delay.current = null;
    };

    const fail = (status?: number, hopeless = false) => {
      close();
      if (stopped) return;
      if (hopeless || status === 404 || ++attempts >= ATTEMPTS) return setState("failed");
      const wait = backoffMs(attempts - 1);
      setState("retrying");
      setRetryAt(Date.now() + wait);
      timers.add(setTimeout(async () => {
        if ((status === 401 || status === 403) && !(await session.refresh())) return setState("failed");
        void start();
      }, wait));
    };

    const start = async () => {
      if (stopped) return;
      setState("connecting");
      setRetryAt(null);
      const token = session.accessToken;
      if (!token) return setState("failed");
      const current = new RTCPeerConnection();
      peer = current;
      current.addTransceiver("video", { direction: "recvonly" });
      current.ontrack = (event) => {
        element.srcObject = event.streams[0] ?? new MediaStream([event.track]);
        element.play().catch(() => undefined); // muted autoplay; a pause in between is no error
      };
      let connected = false;
      current.onconnectionstatechange = () => {
        if (peer !== current) return;
        if (current.connectionState === "connected") {
          connected = true;
          attempts = 0;
          setState("live");
        } else if (current.connectionState === "failed") {
          fail(undefined, !connected);
        }
      };
      try {
        await current.setLocalDescription(await current.createOffer());
        await gathered(current, GATHER_MS);
        if (peer !== current) return;
        const { answer, session: url } = await exchange(whepUrl(window.location.origin, camera),
          current.localDescription!.sdp, streamAuthorization(token));
        hangUp = url;
        if (peer !== current) return close();
        await current.setRemoteDescription({ type: "answer", sdp: answer });
      } catch (error) {
        if (peer === current) fail(error instanceof WhepError ? error.status : undefined);
        return;
      }
      timers.add(setTimeout(() => peer === current && !connected && fail(undefined, true), CONNECT_MS));
      timers.add(setInterval(async () => {
        if (peer !== current) return;
        delay.current = playoutDelayMs((await current.getStats()).values() as Iterable<never>);
      }, 1_000));
    };

    void start();
    return () => {
      stopped = true;
      close();
      element.srcObject = null;
    };
  }, [video, camera, active, generation]);

  /** How far behind the server the picture plays (ms), from the connection's statistics. */
  const delayMs = useCallback((): number | null => delay.current, []);

  /** A new session: whatever had piled up in between is dropped. */
  const jumpToLive = useCallback(() => setGeneration((g) => g + 1), []);

  return { state, retryAt, delayMs, jumpToLive };
}
