import { describe, expect, it } from "vitest";

import {
  catalogueOf, connectionProblem, diffGraphs, type Graph, graphProblems, isEmptyDiff, newNodeId, type NodeTypeSpec,
  placeProblems,
} from "./graph";

const spec = (type: string, inputs: [string, string][], outputs: [string, string][], category = "logic"): NodeTypeSpec => ({
  type, category, label: type, description: "", config_schema: {},
  inputs: inputs.map(([name, t]) => ({ name, type: t })), outputs: outputs.map(([name, t]) => ({ name, type: t })),
});

const catalogue = catalogueOf([
  spec("camera_rtsp", [], [["detections", "detections"]], "input"),
  spec("plate", [], [["plates", "plates"]], "input"),
  spec("plate_match", [["plates", "plates"]], [["plates", "plates"]], "processing"),
  spec("object_detection", [["detections", "detections"]], [["detections", "detections"]], "processing"),
  spec("conditional", [["in", "any"]], [["true", "any"], ["false", "any"]]),
  spec("timer", [["in", "any"]], [["out", "any"]]),
  spec("email", [["events", "events"]], [], "output"),
]);

const graph: Graph = {
  nodes: [
    { id: "cam", type: "camera_rtsp", config: {} },
    { id: "det", type: "object_detection", config: { confidence: 0.5 } },
    { id: "if", type: "conditional", config: { field: "label" } },
    { id: "mail", type: "email", config: {} },
    { id: "match", type: "plate_match", config: {} },
  ],
  edges: [{ source: "cam", source_port: "detections", target: "det", target_port: "detections" }],
};

describe("connectionProblem (PortType.feeds and the cycle check of graph.py)", () => {
  it("refuses detections into a plates input, naming both ports as the server does", () => {
    expect(connectionProblem(graph, catalogue, { source: "det", source_port: "detections", target: "match", target_port: "plates" }))
      .toBe("node 'match': input 'plates' takes plates, but node 'det' output 'detections' gives detections");
  });

  it("lets anything into an any or events input, and any into a typed one", () => {
    expect(connectionProblem(graph, catalogue, { source: "det", source_port: "detections", target: "if", target_port: "in" })).toBeNull();
    expect(connectionProblem(graph, catalogue, { source: "det", source_port: "detections", target: "mail", target_port: "events" })).toBeNull();
    expect(connectionProblem(graph, catalogue, { source: "if", source_port: "true", target: "match", target_port: "plates" })).toBeNull();
  });

  it("refuses a cycle, a duplicate, a self-loop and an unknown port", () => {
    const wired: Graph = { ...graph, edges: [...graph.edges, { source: "det", source_port: "detections", target: "if", target_port: "in" }] };
    expect(connectionProblem(wired, catalogue, { source: "if", source_port: "true", target: "det", target_port: "detections" }))
      .toBe("node 'det': edge closes a cycle (det -> if -> det)");
    expect(connectionProblem(wired, catalogue, wired.edges[1]!)).toBe("node 'if': already connected");
    expect(connectionProblem(wired, catalogue, { source: "if", source_port: "true", target: "if", target_port: "in" }))
      .toMatch(/cannot feed itself/);
    expect(connectionProblem(wired, catalogue, { source: "if", source_port: "maybe", target: "mail", target_port: "events" }))
      .toBe("node 'if': has no output port 'maybe'");
  });
});

describe("graphProblems", () => {
  it("names each problem under the field the server uses", () => {
    const bad: Graph = {
      nodes: [...graph.nodes, { id: "cam", type: "camera_rtsp", config: {} }, { id: "x", type: "warp_drive", config: {} }],
      edges: [...graph.edges, { source: "cam", source_port: "detections", target: "match", target_port: "plates" }],
    };
    const problems = graphProblems(bad, catalogue);
    expect(Object.keys(problems).sort()).toEqual(["graph.edges.1", "graph.nodes.5.id", "graph.nodes.6.type"]);
    expect(problems["graph.nodes.6.type"]).toEqual(["node 'x': unknown node type 'warp_drive'"]);
  });

  it("asks for every input wired to run, but a timer's", () => {
    const runnable = graphProblems({ nodes: [...graph.nodes, { id: "t", type: "timer", config: {} }], edges: graph.edges }, catalogue, true);
    expect(runnable["graph.nodes.2"]).toEqual(["node 'if': input 'in' is not connected"]);
    expect(runnable["graph.nodes.5"]).toBeUndefined();
    expect(graphProblems({ nodes: [], edges: [] }, catalogue, true)).toEqual({ "graph.nodes": ["a pipeline needs at least one node to run"] });
  });
});

describe("placeProblems", () => {
  it("puts config errors on the node's field, node errors on the node, edge errors on the edge's target", () => {
    const placed = placeProblems({
      "graph.nodes.0.config.camera": ["node 'cam': camera 1 does not exist"],
      "graph.nodes.2": ["node 'if': input 'in' is not connected"],
      "graph.edges.0.target_port": ["no"],
      name: ["taken"],
    }, graph);
    expect(placed).toEqual([
      { node: "cam", configPath: ["camera"], messages: ["node 'cam': camera 1 does not exist"] },
      { node: "if", messages: ["node 'if': input 'in' is not connected"] },
      { edge: 0, node: "det", messages: ["no"] },
      { messages: ["name: taken"] },
    ]);
  });
});

describe("diffGraphs", () => {
  it("lists nodes, edges and config keys added, removed and changed, not moves", () => {
    const after: Graph = {
      nodes: [
        { id: "cam", type: "camera_rtsp", config: {}, position: { x: 9, y: 9 } },
        { id: "det", type: "object_detection", config: { confidence: 0.8 } },
        { id: "new", type: "email", config: {} },
      ],
      edges: [{ source: "det", source_port: "detections", target: "new", target_port: "events" }],
    };
    const diff = diffGraphs(graph, after);
    expect(diff.addedNodes.map((n) => n.id)).toEqual(["new"]);
    expect(diff.removedNodes.map((n) => n.id)).toEqual(["if", "mail", "match"]);
    expect(diff.changedNodes).toEqual([{
      id: "det", type: "object_detection", keys: ["config.confidence"],
      changes: [{ key: "config.confidence", before: 0.5, after: 0.8 }],
    }]);
    expect(diff.addedEdges).toHaveLength(1);
    expect(diff.removedEdges).toEqual(graph.edges);
    expect(isEmptyDiff(diffGraphs(graph, { ...graph, nodes: graph.nodes.map((n) => ({ ...n, position: { x: 1, y: 2 } })) }))).toBe(true);
  });
});

it("newNodeId picks the next free id of the type", () => {
  expect(newNodeId({ nodes: [{ id: "timer-1", type: "timer", config: {} }], edges: [] }, "timer")).toBe("timer-2");
});
