/**
 * Whether a camera plays over HLS: MediaMTX serves ``/stream/<camera>/index.m3u8`` on the
 * console's origin when it runs (compose, Kubernetes); in ``make run`` nothing does, and that path
 * answers the console's own page. The first probe tells which: an HTML answer means no stream
 * server at all, and no tile probes again until the page is reloaded.
 */
import { session } from "@/app";

import { hlsAuthorization, hlsUrl, isPlaylist } from "./stream";

let noServer = false;
let first: Promise<boolean> | null = null;
const probes = new Map<string, Promise<boolean>>();

async function probe(camera: string): Promise<boolean> {
  const token = session.accessToken;
  if (!token) return false;
  try {
    const answer = await fetch(hlsUrl(window.location.origin, camera), {
      headers: { Authorization: hlsAuthorization(token) }, cache: "no-store",
    });
    const type = answer.headers.get("content-type");
    if (/text\/html/i.test(type ?? "")) noServer = true;
    return answer.ok && isPlaylist(type, await answer.text());
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
