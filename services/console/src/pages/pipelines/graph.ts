/**
 * Pipeline graphs in the console: the shape control stores, the port-type rule and the graph
 * validation of services/common/vigia/common/pipelines/graph.py mirrored (so a wrong connection is
 * refused in the builder with the reason the server would give), where the API's field errors
 * (``graph.nodes.2.config.camera``) belong, and the diff between two versions.
 */

/** A port of a node type: its name and the kind of record that flows through it. */
export interface Port {
  name: string;
  type: string;
}

/** One entry of the node catalogue (``GET /api/v1/pipelines/node-types/``). */
export interface NodeTypeSpec {
  type: string;
  category: string;
  label: string;
  description: string;
  inputs: Port[];
  outputs: Port[];
  config_schema: Record<string, unknown>;
}

export interface GraphNode {
  id: string;
  type: string;
  config: Record<string, unknown>;
  position?: { x: number; y: number };
  label?: string;
}

export interface GraphEdge {
  source: string;
  source_port: string;
  target: string;
  target_port: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

export type Catalogue = ReadonlyMap<string, NodeTypeSpec>;

export const EMPTY_GRAPH: Graph = { nodes: [], edges: [] };

const NODE_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** The catalogue by type. */
export function catalogueOf(types: readonly NodeTypeSpec[]): Catalogue {
  return new Map(types.map((t) => [t.type, t]));
}

/** A graph read from the API (``unknown`` there), with anything malformed left out. */
export function asGraph(value: unknown): Graph {
  const raw = (value ?? {}) as Partial<Graph>;
  return {
    nodes: Array.isArray(raw.nodes) ? raw.nodes.filter((n) => n && typeof n.id === "string") : [],
    edges: Array.isArray(raw.edges) ? raw.edges.filter((e) => e && typeof e.source === "string") : [],
  };
}

/** Whether an output of type ``source`` may feed an input of type ``target`` (PortType.feeds). */
export function feeds(source: string, target: string): boolean {
  // Anything can trigger an event-taking node (an alert on a detection, a plate, a status).
  return target === "any" || target === "events" || source === "any" || source === target;
}

/** Why connecting ``edge`` into ``graph`` is refused, or null when it is allowed. */
export function connectionProblem(graph: Graph, catalogue: Catalogue, edge: GraphEdge): string | null {
  const source = graph.nodes.find((n) => n.id === edge.source);
  const target = graph.nodes.find((n) => n.id === edge.target);
  if (!source || !target) return `node ${JSON.stringify(source ? edge.target : edge.source)} does not exist`;
  if (source.id === target.id) return `node '${target.id}': a node cannot feed itself`;
  const sourceSpec = catalogue.get(source.type);
  const targetSpec = catalogue.get(target.type);
  if (!sourceSpec || !targetSpec) return `unknown node type '${(sourceSpec ? target : source).type}'`;
  const out = sourceSpec.outputs.find((p) => p.name === edge.source_port);
  if (!out) return `node '${source.id}': has no output port '${edge.source_port}'`;
  const input = targetSpec.inputs.find((p) => p.name === edge.target_port);
  if (!input) return `node '${target.id}': has no input port '${edge.target_port}'`;
  if (!feeds(out.type, input.type)) {
    return `node '${target.id}': input '${input.name}' takes ${input.type}, but node '${source.id}' output `
      + `'${out.name}' gives ${out.type}`;
  }
  if (graph.edges.some((e) => e.source === edge.source && e.source_port === edge.source_port
    && e.target === edge.target && e.target_port === edge.target_port)) {
    return `node '${target.id}': already connected`;
  }
  const cycle = findCycle({ ...graph, edges: [...graph.edges, edge] });
  if (cycle) return `node '${target.id}': edge closes a cycle (${cycle.join(" -> ")})`;
  return null;
}

/** A cycle as its node path (first node repeated at the end), or null. */
export function findCycle(graph: Graph): string[] | null {
  const successors = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) successors.get(e.source)?.push(e.target);
  const colour = new Map<string, number>(); // 1 on the path, 2 done
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    colour.set(node, 1);
    path.push(node);
    for (const next of successors.get(node) ?? []) {
      if (colour.get(next) === 1) return [...path.slice(path.indexOf(next)), next];
      if (!colour.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    colour.set(node, 2);
    path.pop();
    return null;
  };
  for (const node of graph.nodes) {
    if (!colour.has(node.id)) {
      const found = visit(node.id);
      if (found) return found;
    }
  }
  return null;
}

export type Problems = Record<string, string[]>;

/**
 * The structural problems control's validate_graph + runnable_problems would report, under the same
 * field names (config values are the forms' and the server's business): unknown types, bad or
 * duplicate ids, dangling edges and ports, incompatible port types, cycles, unwired inputs.
 */
export function graphProblems(graph: Graph, catalogue: Catalogue, runnable = false): Problems {
  const problems: Problems = {};
  const add = (field: string, message: string) => (problems[field] ??= []).push(message);
  const seen = new Set<string>();
  graph.nodes.forEach((node, i) => {
    if (!NODE_ID.test(node.id)) add(`graph.nodes.${i}.id`, "must be 1-64 letters, digits or _ . : -");
    else if (seen.has(node.id)) add(`graph.nodes.${i}.id`, `node '${node.id}': duplicate id`);
    seen.add(node.id);
    if (!catalogue.has(node.type)) add(`graph.nodes.${i}.type`, `node '${node.id}': unknown node type '${node.type}'`);
  });
  const checked: Graph = { nodes: graph.nodes, edges: [] };
  graph.edges.forEach((edge, k) => {
    const problem = connectionProblem(checked, catalogue, edge);
    if (problem) add(`graph.edges.${k}`, problem);
    else checked.edges.push(edge);
  });
  if (runnable) {
    if (graph.nodes.length === 0) add("graph.nodes", "a pipeline needs at least one node to run");
    graph.nodes.forEach((node, i) => {
      const spec = catalogue.get(node.type);
      for (const port of spec?.inputs ?? []) {
        if (node.type === "timer") continue; // a timer's input is optional: unwired it is a source
        if (!graph.edges.some((e) => e.target === node.id && e.target_port === port.name)) {
          add(`graph.nodes.${i}`, `node '${node.id}': input '${port.name}' is not connected`);
        }
      }
    });
  }
  return problems;
}

/** Where an API error belongs: a node (and maybe a config field path inside it), an edge, or the form. */
export interface PlacedProblem {
  node?: string;
  edge?: number;
  /** Config field path inside the node (``["camera"]``, ``["windows", "0", "start"]``). */
  configPath?: string[];
  messages: string[];
}

/** The API's ``error.fields`` placed on the nodes and edges of ``sent`` (the graph of the request). */
export function placeProblems(fields: Problems, sent: Graph): PlacedProblem[] {
  return Object.entries(fields).map(([field, messages]) => {
    const parts = field.split(".");
    if (parts[0] === "graph" && parts[1] === "nodes" && parts[2] !== undefined) {
      const node = sent.nodes[Number(parts[2])]?.id;
      if (parts[3] === "config") return { node, configPath: parts.slice(4), messages };
      return { node, messages };
    }
    if (parts[0] === "graph" && parts[1] === "edges" && parts[2] !== undefined) {
      const edge = Number(parts[2]);
      return { edge, node: sent.edges[edge]?.target, messages };
    }
    return { messages: messages.map((m) => (field === "non_field_errors" || field === "graph" ? m : `${field}: ${m}`)) };
  });
}

/** A next free node id for ``type`` (``conditional-2``). */
export function newNodeId(graph: Graph, type: string): string {
  const ids = new Set(graph.nodes.map((n) => n.id));
  for (let n = 1; ; n++) {
    const id = `${type}-${n}`.slice(0, 64);
    if (!ids.has(id)) return id;
  }
}

/** What changed from ``before`` (the deployed version) to ``after`` (the draft). */
export interface GraphDiff {
  addedNodes: GraphNode[];
  removedNodes: GraphNode[];
  /** Nodes whose type, config or label changed: the keys that differ, with their values before and after. */
  changedNodes: { id: string; type: string; keys: string[]; changes: { key: string; before: unknown; after: unknown }[] }[];
  addedEdges: GraphEdge[];
  removedEdges: GraphEdge[];
}

function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

export function edgeKey(e: GraphEdge): string {
  return `${e.source}:${e.source_port}->${e.target}:${e.target_port}`;
}

/** Nodes, edges and config keys added, removed or changed; positions are not changes. */
export function diffGraphs(before: Graph, after: Graph): GraphDiff {
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  const changedNodes: GraphDiff["changedNodes"] = [];
  for (const node of after.nodes) {
    const was = old.get(node.id);
    if (!was) continue;
    const changes: { key: string; before: unknown; after: unknown }[] = [];
    if (was.type !== node.type) changes.push({ key: "type", before: was.type, after: node.type });
    const names = new Set([...Object.keys(was.config ?? {}), ...Object.keys(node.config ?? {})]);
    for (const key of [...names].sort()) {
      const before = was.config?.[key];
      const after = node.config?.[key];
      if (stable(before) !== stable(after)) changes.push({ key: `config.${key}`, before, after });
    }
    if ((was.label ?? "") !== (node.label ?? "")) changes.push({ key: "label", before: was.label, after: node.label });
    if (changes.length) changedNodes.push({ id: node.id, type: node.type, keys: changes.map((c) => c.key), changes });
  }
  const oldEdges = new Set(before.edges.map(edgeKey));
  const newEdges = new Set(after.edges.map(edgeKey));
  return {
    addedNodes: after.nodes.filter((n) => !old.has(n.id)),
    removedNodes: before.nodes.filter((n) => !now.has(n.id)),
    changedNodes,
    addedEdges: after.edges.filter((e) => !oldEdges.has(edgeKey(e))),
    removedEdges: before.edges.filter((e) => !newEdges.has(edgeKey(e))),
  };
}

export function isEmptyDiff(diff: GraphDiff): boolean {
  return !diff.addedNodes.length && !diff.removedNodes.length && !diff.changedNodes.length
    && !diff.addedEdges.length && !diff.removedEdges.length;
}

/** Whether two graphs hold the same nodes (positions included) and edges. */
export function sameGraph(a: Graph, b: Graph): boolean {
  return stable(a) === stable(b);
}

/** The node's configuration in one short line (``field: "label" · value: "person"``): set values only. */
export function configSummary(config: Record<string, unknown>): string {
  return Object.entries(config)
    .filter(([, v]) => v !== null && v !== undefined && v !== "" && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join(" · ");
}
