/**
 * Where a tile's picture comes from and how it is read: the live service's latest-frames socket
 * (``WS /api/v1/cameras/{id}/frames``, one binary message per frame: 8 bytes of capture time in
 * ns, big-endian, then the JPEG), or, when a stream server answers, MediaMTX's WebRTC (WHEP at
 * ``/webrtc/<camera>/whep``) or HLS (``/stream/<camera>/index.m3u8``) on the console's own origin
 * (HAProxy routes both there). Pure functions, tested without a browser.
 */
import { liveUrl } from "@/live/messages";

/** The latest-frames socket of ``camera``, next to the live feed's socket (same origin and prefix). */
export function framesUrl(feedUrl: string, camera: string, token: string, fps?: number): string {
  const url = new URL(feedUrl);
  url.pathname = url.pathname.replace(/\/api\/v1\/ws\/?$/, "") + `/api/v1/cameras/${encodeURIComponent(camera)}/frames`;
  url.search = "";
  url.searchParams.set("token", token);
  if (fps) url.searchParams.set("fps", String(fps));
  return url.toString();
}

/** The feed's URL as the page was told (meta tag) or guessed from its location. */
export function feedUrl(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="vigia-live-url"]')?.content;
  return liveUrl(meta, window.location);
}

export interface FrameMessage {
  /** Capture time, ms since the epoch. */
  capturedMs: number;
  jpeg: Uint8Array;
}

/** A frame message, or null when it is too short to hold one. */
export function parseFrame(data: ArrayBuffer): FrameMessage | null {
  if (data.byteLength <= 8) return null;
  const ns = new DataView(data).getBigUint64(0, false);
  return { capturedMs: Number(ns / 1_000_000n), jpeg: new Uint8Array(data, 8) };
}

/** Close codes of the frames socket after which retrying cannot help. */
export const CLOSE_NOT_FOUND = 4404;
export const CLOSE_BAD_REQUEST = 4400;
export const CLOSE_UNAUTHORIZED = 4401;

/** Wait before reconnection ``attempt`` (0, 1, …): 1 s doubling to 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/** How far behind now a picture is, as operators read it: "0,4 s", "12 s", "3 min", "2 h". */
export function formatDelay(ms: number, locale = "pt-BR"): string {
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toLocaleString(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 })} s`;
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

/** A picture this far behind is no longer "live": the tile offers to jump back. */
export const BEHIND_MS = 5_000;

/** MediaMTX's HLS playlist of ``camera`` on this origin. */
export function hlsUrl(origin: string, camera: string): string {
  return `${origin}/stream/${encodeURIComponent(camera)}/index.m3u8`;
}

/** MediaMTX's WHEP endpoint of ``camera`` on this origin (an SDP offer is POSTed to it). */
export function whepUrl(origin: string, camera: string): string {
  return `${origin}/webrtc/${encodeURIComponent(camera)}/whep`;
}

/** The credential MediaMTX forwards to control's stream_auth: the access JWT as Basic password. */
export function streamAuthorization(token: string): string {
  return `Basic ${btoa(`jwt:${token}`)}`;
}

/** Whether a page is this console's own (control answers any unknown path with it). */
export function isConsolePage(body: string): boolean {
  return body.includes('name="vigia-live-url"');
}
