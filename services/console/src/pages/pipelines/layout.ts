/**
 * Automatic layout of a pipeline (elkjs, layered, left to right: inputs on the left, outputs on the
 * right). elk is loaded on first use, so the builder's first paint does not wait for it.
 */
import type { Graph } from "./graph";

export const NODE_WIDTH = 220;
export const NODE_HEIGHT = 112;

/** ``graph`` with every node given the position elk chose. */
export async function autoLayout(graph: Graph): Promise<Graph> {
  const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
  const elk = new ELK();
  const laid = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.spacing.nodeNode": "40",
      "elk.layered.spacing.nodeNodeBetweenLayers": "80",
    },
    children: graph.nodes.map((n) => ({ id: n.id, width: NODE_WIDTH, height: NODE_HEIGHT })),
    edges: graph.edges.map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
  });
  const at = new Map((laid.children ?? []).map((c) => [c.id, { x: Math.round(c.x ?? 0), y: Math.round(c.y ?? 0) }]));
  return { ...graph, nodes: graph.nodes.map((n) => ({ ...n, position: at.get(n.id) ?? n.position ?? { x: 0, y: 0 } })) };
}
