/**
 * Whether a camera plays over HLS: MediaMTX serves ``/stream/<camera>/index.m3u8`` on the
 * console's origin when it runs (compose, Kubernetes: HAProxy routes ``/stream/`` to it); in
 * ``make run`` nothing does. The probe asks for ``/stream/<camera>/`` (MediaMTX's page for a path
 * it serves; no file extension, so control answers it with the console's own page rather than a
 * 404 the browser would log): the console's page back means no stream server at all, and no tile
 * probes again until the page is reloaded; another 2xx means the camera has a stream.
 */
import { session } from "@/app";

import { hlsAuthorization, isConsolePage } from "./stream";

let noServer = false;
let first: Promise<boolean> | null = null;
const probes = new Map<string, Promise<boolean>>();

async function probe(camera: string): Promise<boolean> {
  const token = session.accessToken;
  if (!token) return false;
  try {
    const answer = await fetch(`${window.location.origin}/stream/${encodeURIComponent(camera)}/`, {
      headers: { Authorization: hlsAuthorization(token) }, cache: "no-store",
    });
    if (!answer.ok) return false;
    if (isConsolePage(await answer.text())) {
      noServer = true;
      return false;
    }
    return true;
  } catch {
    return false;
  }
}

/** Whether ``camera`` has an HLS stream to play (asked once per camera and page load). */
export async function hasHls(camera: string): Promise<boolean> {
  if (noServer) return false;
  if (!first) {
    first = probe(camera);
    probes.set(camera, first);
  }
  await first;
  if (noServer) return false;
  let found = probes.get(camera);
  if (!found) probes.set(camera, (found = probe(camera)));
  return found;
}
