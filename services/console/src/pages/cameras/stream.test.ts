import { describe, expect, it } from "vitest";

import { backoffMs, formatDelay, framesUrl, hlsUrl, isConsolePage, parseFrame, streamAuthorization, whepUrl } from "./stream";

describe("framesUrl", () => {
  it("sits next to the feed's socket with the token and the asked rate", () => {
    expect(framesUrl("wss://vigia.example/api/v1/ws", "c1", "t.o.k", 2))
      .toBe("wss://vigia.example/api/v1/cameras/c1/frames?token=t.o.k&fps=2");
    expect(framesUrl("ws://127.0.0.1:8003/api/v1/ws?x=1", "c 2", "tok"))
      .toBe("ws://127.0.0.1:8003/api/v1/cameras/c%202/frames?token=tok");
  });
});

describe("parseFrame", () => {
  it("reads the capture time (ns, big-endian) and the JPEG after it", () => {
    const buffer = new ArrayBuffer(11);
    new DataView(buffer).setBigUint64(0, 1_765_000_000_123_456_789n, false);
    new Uint8Array(buffer).set([0xff, 0xd8, 0xd9], 8);
    const frame = parseFrame(buffer)!;
    expect(frame.capturedMs).toBe(1_765_000_000_123);
    expect(Array.from(frame.jpeg)).toEqual([0xff, 0xd8, 0xd9]);
  });

  it("refuses a message without a picture", () => {
    expect(parseFrame(new ArrayBuffer(8))).toBeNull();
  });
});

describe("backoffMs", () => {
  it("doubles from one second up to thirty", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });
});

describe("formatDelay", () => {
  it("says how far behind, in the operator's words", () => {
    expect(formatDelay(420)).toBe("0,4 s");
    expect(formatDelay(420, "en")).toBe("0.4 s");
    expect(formatDelay(-50)).toBe("0,0 s");
    expect(formatDelay(12_400)).toBe("12 s");
    expect(formatDelay(180_000)).toBe("3 min");
    expect(formatDelay(7_200_000)).toBe("2 h");
  });
});

describe("HLS", () => {
  it("plays MediaMTX's playlist on this origin with the JWT as Basic password", () => {
    expect(hlsUrl("https://vigia.example", "c1")).toBe("https://vigia.example/stream/c1/index.m3u8");
    expect(atob(streamAuthorization("a.b.c").slice(6))).toBe("jwt:a.b.c");
  });

  it("tells the console's own page (no stream server) from a stream server's", () => {
    expect(isConsolePage('<html><head><meta name="vigia-live-url" content="ws://x/api/v1/ws" />')).toBe(true);
    expect(isConsolePage("<!DOCTYPE html><html><body><video id=\"video\"></video>")).toBe(false);
  });
});

describe("whepUrl", () => {
  it("is MediaMTX's WHEP endpoint of the camera under /webrtc/ on this origin", () => {
    expect(whepUrl("https://vigia.example", "c 1")).toBe("https://vigia.example/webrtc/c%201/whep");
  });
});
