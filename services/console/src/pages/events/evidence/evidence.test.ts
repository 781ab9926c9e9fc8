import { describe, expect, it } from "vitest";

import { bundleName } from "./download";
import { parseSensors } from "./sensors";
import { peaks } from "./waveform";
import { crc32, zip } from "./zip";
import { fromZonedInput, toZonedInput } from "../zoned";

describe("sensors.csv as chart series", () => {
  it("aligns two devices on one time axis, nulls where a device has no reading", () => {
    const csv = [
      "time,device_id,seq,mag_x,mag_magnitude,audio_peak,humanoid",
      "2026-01-02T15:04:05+00:00,dev-a,1,1.0,50.5,0.1,False",
      "2026-01-02T15:04:05.100000+00:00,dev-b,7,,48,,False",
      "2026-01-02T15:04:05.100000+00:00,dev-a,2,1.1,51,,True",
      "not a time,dev-a,3,,,,",
      "",
    ].join("\n");
    const table = parseSensors(csv);
    expect(table.rows).toBe(3);
    expect(table.series.map((s) => `${s.column}:${s.device}:${s.scale}`))
      .toEqual(["mag_magnitude:dev-a:uT", "mag_magnitude:dev-b:uT", "audio_peak:dev-a:peak"]);
    const t0 = Date.parse("2026-01-02T15:04:05Z") / 1000;
    expect(table.data[0]).toEqual([t0, t0 + 0.1]);
    expect(table.data.slice(1)).toEqual([[50.5, 51], [null, 48], [0.1, null]]);
  });

  it("has no series for a header alone", () => {
    expect(parseSensors("time,device_id,seq,mag_magnitude\n")).toEqual({ data: [[]], series: [], rows: 0 });
  });
});

describe("the waveform's columns", () => {
  it("keeps each column's lowest and highest sample, so a click shows at any width", () => {
    const samples = new Float32Array(1000);
    samples[503] = 0.9;
    samples[10] = -0.5;
    const pairs = peaks(samples, 10);
    expect(pairs.length).toBe(20);
    expect([pairs[0], pairs[1]]).toEqual([-0.5, 0]);
    expect(pairs[2 * 5 + 1]).toBeCloseTo(0.9);
    expect(peaks(new Float32Array(3), 8).length).toBe(16); // fewer samples than columns
  });
});

describe("the bundle's ZIP", () => {
  it("computes CRC-32 as ZIP does", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("writes stored entries that a reader finds through the central directory", () => {
    const files = [{ name: "metadata.json", data: new TextEncoder().encode('{"a":1}') },
      { name: "vídeo.mp4", data: new Uint8Array([0, 1, 2, 3]) }];
    const bytes = zip(files, new Date(2026, 0, 2, 11, 4, 6));
    const view = new DataView(bytes.buffer);
    const end = bytes.length - 22;
    expect(view.getUint32(end, true)).toBe(0x06054b50);
    expect(view.getUint16(end + 10, true)).toBe(2);
    let at = view.getUint32(end + 16, true);
    const names: string[] = [];
    for (let n = 0; n < 2; n++) {
      expect(view.getUint32(at, true)).toBe(0x02014b50);
      const size = view.getUint32(at + 20, true);
      const nameLength = view.getUint16(at + 28, true);
      const local = view.getUint32(at + 42, true);
      const name = new TextDecoder().decode(bytes.slice(at + 46, at + 46 + nameLength));
      names.push(name);
      const data = bytes.slice(local + 30 + nameLength, local + 30 + nameLength + size);
      expect(data).toEqual(files[n]!.data);
      expect(view.getUint32(at + 16, true)).toBe(crc32(data));
      at += 46 + nameLength;
    }
    expect(names).toEqual(["metadata.json", "vídeo.mp4"]);
  });

  it("is named after the event", () => {
    expect(bundleName({ id: "0190", event_type: "Intrusão/porta" })).toBe("vigia-evento-intrus-o-porta-0190.zip");
  });
});

describe("custom time bounds in the organization's zone", () => {
  it("reads and writes a datetime-local value as Manaus wall-clock time", () => {
    expect(fromZonedInput("2026-01-02T11:04", "America/Manaus")).toBe("2026-01-02T15:04:00.000Z");
    expect(toZonedInput("2026-01-02T15:04:00.000Z", "America/Manaus")).toBe("2026-01-02T11:04");
    expect(fromZonedInput("yesterday", "America/Manaus")).toBeUndefined();
  });
});
