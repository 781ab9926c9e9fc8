import { describe, expect, it } from "vitest";

import { capturedInput } from "./captured";
import { configSummary } from "./graph";
import type { PipelineRun } from "./queries";

const run = (id: string, nodes: unknown[]): PipelineRun => ({
  id, time: "2026-12-06T12:00:00Z", fired: true, error: null, nodes,
  trigger: { kind: "detection", source: "cam-1", data: { label: "person", confidence: 0.9 } },
});

describe("capturedInput", () => {
  const runs = [
    run("new", [{ node: "cam", inputs: [], outputs: [{ port: "detections", value: { label: "car" } }], error: null }]),
    run("old", [
      { node: "cam", inputs: [], outputs: [], error: null },
      { node: "if", inputs: [{ port: "in", value: { label: "person" } }], outputs: [], error: null },
    ]),
  ];

  it("gives an input node the newest run's item", () => {
    expect(capturedInput(runs, { id: "cam", type: "camera_rtsp", config: {} }, true))
      .toEqual({ kind: "detection", source: "cam-1", data: { label: "person", confidence: 0.9 } });
  });

  it("gives another node the record it last received, from the newest run that reached it", () => {
    expect(capturedInput(runs, { id: "if", type: "conditional", config: {} }, false))
      .toEqual({ kind: "detection", source: "cam-1", data: { label: "person" } });
    expect(capturedInput(runs, { id: "board", type: "dashboard", config: {} }, false)).toBeNull();
  });
});

it("configSummary shows the values set, in one line", () => {
  expect(configSummary({ field: "label", value: null, classes: [], title: "", confidence: 0.5 }))
    .toBe('field: "label" · confidence: 0.5');
});
