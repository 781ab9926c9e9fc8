/**
 * WHEP (RFC 9725), the way MediaMTX serves WebRTC to readers: the browser POSTs its SDP offer
 * (``Content-Type: application/sdp``, every ICE candidate in it: no trickle) and gets ``201``
 * with the answer and, in ``Location``, the session's URL, which it DELETEs to hang up. No ICE
 * server is configured: MediaMTX announces the host addresses operators reach
 * (``webrtcAdditionalHosts``) and its UDP port. Pure parts, tested without a browser.
 */

/** How a WHEP exchange ended when it did not give an answer. */
export class WhepError extends Error {
  constructor(readonly status: number) {
    super(`WHEP answered ${status}`);
  }
}

/** The session URL of a ``201``: its ``Location`` resolved against the endpoint, or null. */
export function sessionUrl(location: string | null, endpoint: string): string | null {
  if (!location) return null;
  try {
    return new URL(location, endpoint).toString();
  } catch {
    return null;
  }
}

/** Resolves once ``peer`` gathered its candidates, or after ``timeoutMs`` (what it has is sent). */
export function gathered(peer: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (peer.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      peer.removeEventListener("icegatheringstatechange", check);
      resolve();
    };
    const check = () => peer.iceGatheringState === "complete" && done();
    const timer = setTimeout(done, timeoutMs);
    peer.addEventListener("icegatheringstatechange", check);
  });
}

/** Posts ``offer`` to ``endpoint``; the answer's SDP and the session's URL, or a WhepError. */
export async function exchange(endpoint: string, offer: string, authorization: string): Promise<{ answer: string; session: string | null }> {
  const response = await fetch(endpoint, {
    method: "POST", body: offer, cache: "no-store",
    headers: { "Content-Type": "application/sdp", Accept: "application/sdp", Authorization: authorization },
  });
  if (response.status !== 201) throw new WhepError(response.status);
  return { answer: await response.text(), session: sessionUrl(response.headers.get("Location"), endpoint) };
}

interface StatsEntry {
  type: string;
  kind?: string;
  state?: string;
  nominated?: boolean;
  jitterBufferDelay?: number;
  jitterBufferEmittedCount?: number;
  currentRoundTripTime?: number;
}

/**
 * How far behind the server the picture plays (ms), from a ``getStats()`` report: the video's
 * mean jitter-buffer delay plus half the round trip of the pair in use; null before any frame.
 * (The camera-to-server leg is not in it: WebRTC carries no wall-clock time of capture.)
 */
export function playoutDelayMs(report: Iterable<StatsEntry>): number | null {
  let buffer: number | null = null;
  let halfTrip = 0;
  for (const entry of report) {
    if (entry.type === "inbound-rtp" && entry.kind === "video" && entry.jitterBufferEmittedCount) {
      buffer = (entry.jitterBufferDelay ?? 0) / entry.jitterBufferEmittedCount;
    } else if (entry.type === "candidate-pair" && entry.state === "succeeded" && entry.nominated
      && entry.currentRoundTripTime !== undefined) {
      halfTrip = entry.currentRoundTripTime / 2;
    }
  }
  return buffer === null ? null : Math.round((buffer + halfTrip) * 1000);
}
