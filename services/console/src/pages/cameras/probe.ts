/**
 * Whether a camera plays from a stream server: MediaMTX serves WebRTC (WHEP) under ``/webrtc/``
 * and HLS under ``/stream/`` on the console's own origin when it runs (compose, Kubernetes:
 * HAProxy or the Ingress routes both to it); in ``make run`` nothing does. A probe asks for
 * ``<prefix>/<camera>/`` (MediaMTX's page for a path it serves; no file extension, so control
 * answers it with the console's own page rather than a 404 the browser would log): the console's
 * page back means no server behind that prefix, and no tile probes it again until the page is
 * reloaded; another 2xx means the camera has that stream.
 */
import { session } from "@/app";

import { isConsolePage, streamAuthorization } from "./stream";

/** The probe of one route prefix: each camera asked once per page load. */
function serverProbe(prefix: string): (camera: string) => Promise<boolean> {
  let noServer = false;
  let first: Promise<boolean> | null = null;
  const probes = new Map<string, Promise<boolean>>();

  async function probe(camera: string): Promise<boolean> {
    const token = session.accessToken;
    if (!token) return false;
    try {
      const answer = await fetch(`${window.location.origin}${prefix}/${encodeURIComponent(camera)}/`, {
        headers: { Authorization: streamAuthorization(token) }, cache: "no-store",
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

  return async (camera) => {
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
  };
}

/** Whether ``camera`` has a WebRTC (WHEP) stream to play. */
export const hasWebrtc = serverProbe("/webrtc");
/** Whether ``camera`` has an HLS stream to play. */
export const hasHls = serverProbe("/stream");
