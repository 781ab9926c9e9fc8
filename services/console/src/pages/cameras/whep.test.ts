import { describe, expect, it } from "vitest";

import { playoutDelayMs, sessionUrl } from "./whep";

describe("sessionUrl", () => {
  it("resolves MediaMTX's relative Location against the endpoint", () => {
    expect(sessionUrl("/webrtc/c1/whep/3f1a", "https://vigia.example/webrtc/c1/whep"))
      .toBe("https://vigia.example/webrtc/c1/whep/3f1a");
    expect(sessionUrl("3f1a", "https://vigia.example/webrtc/c1/whep")).toBe("https://vigia.example/webrtc/c1/3f1a");
  });

  it("is null without a Location", () => {
    expect(sessionUrl(null, "https://vigia.example/webrtc/c1/whep")).toBeNull();
    expect(sessionUrl("", "https://vigia.example/webrtc/c1/whep")).toBeNull();
  });
});

describe("playoutDelayMs", () => {
  it("adds the mean jitter-buffer delay of the video and half the nominated pair's round trip", () => {
    expect(playoutDelayMs([
      { type: "inbound-rtp", kind: "audio", jitterBufferDelay: 9, jitterBufferEmittedCount: 10 },
      { type: "inbound-rtp", kind: "video", jitterBufferDelay: 12, jitterBufferEmittedCount: 100 },
      { type: "candidate-pair", state: "succeeded", nominated: false, currentRoundTripTime: 4 },
      { type: "candidate-pair", state: "succeeded", nominated: true, currentRoundTripTime: 0.04 },
    ])).toBe(140);
  });

  it("is null before the first frame came out of the buffer", () => {
    expect(playoutDelayMs([{ type: "inbound-rtp", kind: "video", jitterBufferDelay: 0, jitterBufferEmittedCount: 0 }])).toBeNull();
    expect(playoutDelayMs([])).toBeNull();
  });
});
