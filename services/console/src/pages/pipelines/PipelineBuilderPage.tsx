/**
 * One pipeline's builder: the node palette, the canvas (@xyflow/react; ports type-checked as the
 * server checks them, a refused connection says why), elk auto layout, the selected node's
 * inspector (config form from the catalogue's schema, the API's errors on their fields, dry run),
 * save (a new version), the diff against the deployed version before deploy, execute/stop, and
 * live status: per-node badges and counters (``/counters/`` polled, ``pipeline_status_update``
 * from the live feed), the last runs.
 */
import "@xyflow/react/dist/style.css";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import {
  Background, type Connection, Controls, type Edge, type EdgeChange, type NodeChange, ReactFlow, ReactFlowProvider,
  useReactFlow,
} from "@xyflow/react";
import { type DragEvent, useCallback, useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";

import { session } from "@/app";
import { useCan } from "@/auth/roles";
import { Button } from "@/components/ui/button";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";
import { organizationSettings } from "@/pages/dashboard-queries";

import {
  asGraph, type Catalogue, catalogueOf, connectionProblem, diffGraphs, edgeKey, EMPTY_GRAPH, type Graph, type GraphEdge,
  type GraphNode, newNodeId, type PlacedProblem, placeProblems, sameGraph,
} from "./graph";
import { Inspector } from "./Inspector";
import { autoLayout } from "./layout";
import { CountersTable, DeployPanel, NODE_MIME, Palette, RunsPanel, VersionsPanel } from "./panels";
import { type PipelineFlowNode, PipelineNodeCard, StateBadge } from "./parts";
import {
  ApiProblem, deletePipeline, executePipeline, type NodeCounters, type Pipeline, pipelineQueries, savePipeline,
  stopPipeline,
} from "./queries";
import { pipelineRoute } from "./route";
import { type LiveNodeStatus, nodeStatus, withLiveStatus } from "./status";

const NODE_TYPES = { pipeline: PipelineNodeCard };

type Notice = { kind: "ok" | "error"; text: string; details?: string[] } | null;

function useNow(everyMs: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

function Canvas({ graph, catalogue, flowNodes, flowEdges, readOnly, onNodesChange, onEdgesChange, onConnect,
  onDropType, onPaneClick }: {
  graph: Graph;
  catalogue: Catalogue;
  flowNodes: PipelineFlowNode[];
  flowEdges: Edge[];
  readOnly: boolean;
  onNodesChange: (changes: NodeChange<PipelineFlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange[]) => void;
  onConnect: (connection: Connection) => void;
  onDropType: (type: string, position: { x: number; y: number }) => void;
  onPaneClick: () => void;
}) {
  const { t } = useTranslation();
  const flow = useReactFlow();
  const onDrop = (event: DragEvent) => {
    const type = event.dataTransfer.getData(NODE_MIME);
    if (!type || !catalogue.has(type)) return;
    event.preventDefault();
    onDropType(type, flow.screenToFlowPosition({ x: event.clientX, y: event.clientY }));
  };
  useEffect(() => {
    // When the node count changes (a node added or removed, the pipeline loaded), once the new node
    // is measured: fitting before would leave it out of view.
    const timer = setTimeout(() => void flow.fitView({ maxZoom: 1 }), 100);
    return () => clearTimeout(timer);
  }, [graph.nodes.length, flow]);
  return (
    <section aria-label={t("pipelines.builder.canvas")} className="h-[55vh] min-h-80 rounded-md border bg-background lg:h-[70vh]"
      data-testid="canvas" onDragOver={(e) => { e.preventDefault(); e.dataTransfer.dropEffect = "copy"; }} onDrop={onDrop}>
      <ReactFlow<PipelineFlowNode, Edge>
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={NODE_TYPES}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        onPaneClick={onPaneClick}
        nodesDraggable={!readOnly}
        nodesConnectable={!readOnly}
        deleteKeyCode={readOnly ? null : ["Backspace", "Delete"]}
        fitView
        minZoom={0.2}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
        <Controls showInteractive={false} />
      </ReactFlow>
    </section>
  );
}

export function PipelineBuilderPage() {
  return (
    <ReactFlowProvider>
      <Builder />
    </ReactFlowProvider>
  );
}

function Builder() {
  const { t } = useTranslation();
  const { id } = pipelineRoute.useParams();
  const { node: selected } = pipelineRoute.useSearch();
  const navigate = useNavigate({ from: pipelineRoute.fullPath });
  const queryClient = useQueryClient();
  const canEdit = useCan("operator");
  const readOnly = !canEdit;

  // Once it is being deleted its queries stop (counters and runs poll): asked again, they would 404.
  const [removed, setRemoved] = useState(false);
  const pipeline = useQuery({ ...pipelineQueries.one(id), enabled: !removed });
  const types = useQuery(pipelineQueries.nodeTypes);
  const counters = useQuery({ ...pipelineQueries.counters(id), enabled: !removed });
  const runs = useQuery({ ...pipelineQueries.runs(id), enabled: !removed });
  const zone = useQuery(organizationSettings);
  const timeZone = zone.data ?? DEFAULT_TIME_ZONE;
  const deployedNumber = pipeline.data?.deployed_version ?? null;
  const deployed = useQuery({ ...pipelineQueries.version(id, deployedNumber), enabled: !removed });
  const versions = useQuery({ ...pipelineQueries.versions(id), enabled: !removed });
  const catalogue = useMemo(() => catalogueOf(types.data ?? []), [types.data]);

  const [saved, setSaved] = useState<Graph | null>(null);
  const [draft, setDraft] = useState<Graph>(EMPTY_GRAPH);
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const [selectedEdge, setSelectedEdge] = useState<string | null>(null);
  const [problems, setProblems] = useState<PlacedProblem[]>([]);
  const [notice, setNotice] = useState<Notice>(null);
  const [deployOpen, setDeployOpen] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const [busy, setBusy] = useState(false);
  const [live, setLive] = useState<Record<string, LiveNodeStatus>>({});
  const now = useNow(5_000);

  // The saved graph becomes the draft when the pipeline is first loaded (later saves set both).
  useEffect(() => {
    if (pipeline.data && saved === null) {
      const graph = asGraph(pipeline.data.graph);
      setSaved(graph);
      setDraft(graph);
    }
  }, [pipeline.data, saved]);

  const onFeed = useCallback((message: FeedMessage) => {
    if (message.type !== "pipeline_status_update" || message.pipeline_id !== id) return;
    setLive((known) => withLiveStatus(known, id, message, Date.now()));
    // What the runtime just did: its counters and runs, and the state (started, stopped, error).
    for (const query of [pipelineQueries.counters(id), pipelineQueries.runs(id), pipelineQueries.one(id)]) {
      void queryClient.invalidateQueries({ queryKey: query.queryKey, exact: true });
    }
  }, [id, queryClient]);
  const feed = useLiveFeed(session, onFeed);

  const choose = useCallback((node: string | null) => {
    if ((node ?? undefined) === selected) return;
    void navigate({ search: node ? { node } : {}, replace: true });
  }, [navigate, selected]);

  const edit = useCallback((change: (graph: Graph) => Graph) => {
    setDraft((graph) => change(graph));
    setNotice((n) => (n?.kind === "ok" ? null : n));
  }, []);

  const counted = useMemo(() => new Map((counters.data ?? []).map((c) => [c.node, c])), [counters.data]);
  const running = pipeline.data?.state === "running";
  const problemsOf = useCallback((node: string) => problems.filter((p) => p.node === node), [problems]);

  const flowNodes: PipelineFlowNode[] = useMemo(() => draft.nodes.map((node, i) => {
    const c = counted.get(node.id);
    return {
      id: node.id,
      type: "pipeline" as const,
      position: node.position ?? { x: 40 + (i % 4) * 260, y: 40 + Math.floor(i / 4) * 140 },
      selected: node.id === selected,
      measured: measured[node.id],
      ariaLabel: `${node.label || node.id} (${catalogue.get(node.type)?.label ?? node.type})`,
      data: {
        node, spec: catalogue.get(node.type), status: nodeStatus(running, c, live[node.id], now),
        inputs: c?.inputs ?? 0, outputs: c?.outputs ?? 0, errors: c?.errors ?? 0,
        problems: problemsOf(node.id).flatMap((p) => p.messages),
      },
    };
  }), [draft.nodes, counted, selected, measured, catalogue, running, live, now, problemsOf]);

  const flowEdges: Edge[] = useMemo(() => draft.edges.map((edge, k) => {
    const key = edgeKey(edge);
    const bad = problems.some((p) => p.edge === k);
    return {
      id: key, source: edge.source, target: edge.target, sourceHandle: `out:${edge.source_port}`,
      targetHandle: `in:${edge.target_port}`, selected: key === selectedEdge, animated: running,
      ariaLabel: `${edge.source}.${edge.source_port} → ${edge.target}.${edge.target_port}`,
      style: bad ? { stroke: "var(--color-destructive)", strokeWidth: 2 } : undefined,
    };
  }), [draft.edges, selectedEdge, problems, running]);

  const removeNode = useCallback((nodeId: string) => {
    edit((graph) => ({
      nodes: graph.nodes.filter((n) => n.id !== nodeId),
      edges: graph.edges.filter((e) => e.source !== nodeId && e.target !== nodeId),
    }));
    setProblems((list) => list.filter((p) => p.node !== nodeId));
    if (selected === nodeId) choose(null);
  }, [edit, selected, choose]);

  const onNodesChange = useCallback((changes: NodeChange<PipelineFlowNode>[]) => {
    let chosen: string | null | undefined;
    for (const change of changes) {
      if (change.type === "dimensions" && change.dimensions) {
        const size = change.dimensions;
        setMeasured((m) => ({ ...m, [change.id]: size }));
      } else if (change.type === "position" && change.position && !readOnly) {
        const position = { x: Math.round(change.position.x), y: Math.round(change.position.y) };
        edit((graph) => ({ ...graph, nodes: graph.nodes.map((n) => (n.id === change.id ? { ...n, position } : n)) }));
      } else if (change.type === "select") {
        if (change.selected) chosen = change.id;
        else if (chosen === undefined && change.id === selected) chosen = null;
      } else if (change.type === "remove" && !readOnly) {
        removeNode(change.id);
      }
    }
    if (chosen !== undefined) {
      choose(chosen);
      if (chosen) setSelectedEdge(null);
    }
  }, [edit, readOnly, removeNode, choose, selected]);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    for (const change of changes) {
      if (change.type === "select") setSelectedEdge(change.selected ? change.id : null);
      else if (change.type === "remove" && !readOnly) {
        edit((graph) => ({ ...graph, edges: graph.edges.filter((e) => edgeKey(e) !== change.id) }));
      }
    }
  }, [edit, readOnly]);

  const connect = useCallback((edge: GraphEdge) => {
    const problem = connectionProblem(draft, catalogue, edge);
    if (problem) {
      setNotice({ kind: "error", text: t("pipelines.builder.refused", { reason: problem }) });
      return;
    }
    setNotice(null);
    edit((graph) => ({ ...graph, edges: [...graph.edges, edge] }));
  }, [draft, catalogue, edit, t]);

  const onConnect = useCallback((c: Connection) => {
    if (!c.sourceHandle || !c.targetHandle) return;
    // Handles are named out:<port> and in:<port> (parts.tsx).
    connect({ source: c.source, source_port: c.sourceHandle.slice("out:".length), target: c.target,
      target_port: c.targetHandle.slice("in:".length) });
  }, [connect]);

  const addNode = useCallback((type: string, position?: { x: number; y: number }) => {
    const nodeId = newNodeId(draft, type);
    const count = draft.nodes.length;
    const at = position ?? { x: 40 + (count % 4) * 260, y: 40 + Math.floor(count / 4) * 140 };
    edit((graph) => ({ ...graph, nodes: [...graph.nodes, { id: nodeId, type, config: {}, position: at }] }));
    choose(nodeId);
  }, [draft, edit, choose]);

  const showProblem = useCallback((error: unknown, sent: Graph) => {
    if (!(error instanceof ApiProblem)) {
      setNotice({ kind: "error", text: String(error) });
      return;
    }
    const placed = placeProblems(error.fields, sent);
    setProblems(placed);
    const unplaced = placed.filter((p) => !p.node && p.edge === undefined).flatMap((p) => p.messages);
    setNotice({ kind: "error", text: t("pipelines.builder.problems"), details: unplaced.length ? unplaced : [error.message] });
    const first = placed.find((p) => p.node)?.node;
    if (first) choose(first);
  }, [t, choose]);

  const dirty = saved !== null && !sameGraph(saved, draft);

  /** Save the draft (a new version when the graph changed); the saved pipeline, or null when refused. */
  const save = useCallback(async (): Promise<Pipeline | null> => {
    const sent = draft;
    try {
      const answer = await savePipeline(id, sent);
      const graph = asGraph(answer.graph);
      // Keep the draft's positions and labels as drawn; the server's normalised config is the truth.
      setSaved(graph);
      setDraft(graph);
      setProblems([]);
      queryClient.setQueryData(pipelineQueries.one(id).queryKey, answer);
      const versions = await queryClient.fetchQuery({ ...pipelineQueries.versions(id), staleTime: 0 });
      setNotice({ kind: "ok", text: t("pipelines.builder.saved", { number: versions[0]?.number ?? 1 }) });
      return answer;
    } catch (error) {
      showProblem(error, sent);
      return null;
    }
  }, [draft, id, queryClient, t, showProblem]);

  const deploy = useCallback(async () => {
    setBusy(true);
    try {
      let current = pipeline.data ?? null;
      if (dirty) current = await save();
      if (!current) return;
      if (current.state !== "running") {
        try {
          current = await executePipeline(id);
        } catch (error) {
          showProblem(error, asGraph(current.graph));
          return;
        }
      }
      queryClient.setQueryData(pipelineQueries.one(id).queryKey, current);
      void queryClient.invalidateQueries({ queryKey: ["pipelines", id] });
      setDeployOpen(false);
      setProblems([]);
      setNotice({ kind: "ok", text: t("pipelines.builder.deployed", { number: current.deployed_version ?? "?" }) });
    } finally {
      setBusy(false);
    }
  }, [pipeline.data, dirty, save, id, queryClient, showProblem, t]);

  const stop = useCallback(async () => {
    setBusy(true);
    try {
      const answer = await stopPipeline(id);
      queryClient.setQueryData(pipelineQueries.one(id).queryKey, answer);
      setNotice({ kind: "ok", text: t("pipelines.builder.stopped") });
    } catch (error) {
      showProblem(error, draft);
    } finally {
      setBusy(false);
    }
  }, [id, queryClient, t, showProblem, draft]);

  /** An older saved version into the editor, as unsaved changes: saving it makes it the newest. */
  const restore = useCallback(async (number: number) => {
    try {
      const version = await queryClient.fetchQuery(pipelineQueries.version(id, number));
      if (!version) return;
      edit(() => asGraph(version.graph));
      setProblems([]);
      setNotice({ kind: "ok", text: t("pipelines.versions.restored", { number }) });
    } catch (error) {
      setNotice({ kind: "error", text: String(error) });
    }
  }, [id, queryClient, edit, t]);

  const remove = useCallback(async () => {
    setBusy(true);
    setRemoved(true);
    try {
      await deletePipeline(id);
    } catch (error) {
      setRemoved(false);
      showProblem(error, draft);
      setDeleting(false);
      return;
    } finally {
      setBusy(false);
    }
    await navigate({ to: "/pipelines", search: {} });
    queryClient.removeQueries({ queryKey: ["pipelines", id] });
    void queryClient.invalidateQueries({ queryKey: ["pipelines"] });
  }, [id, queryClient, navigate, showProblem, draft]);

  const flow = useReactFlow();
  const layout = useCallback(async () => {
    const laid = await autoLayout(draft);
    edit(() => laid);
    requestAnimationFrame(() => void flow.fitView({ maxZoom: 1 }));
  }, [draft, edit, flow]);

  if (pipeline.isError || types.isError) {
    return <main className="p-4"><p role="alert" className="text-destructive">{t("pipelines.builder.failed")}</p></main>;
  }
  if (!pipeline.data || !types.data || saved === null) {
    return <main className="p-4"><p aria-busy="true" className="text-muted-foreground">{t("pipelines.builder.loading")}</p></main>;
  }

  const node = draft.nodes.find((n) => n.id === selected);
  const diff = diffGraphs(deployedNumber ? asGraph(deployed.data?.graph) : EMPTY_GRAPH, draft);
  const countersOf = (n: GraphNode): NodeCounters | undefined => counted.get(n.id);

  return (
    <main className="flex flex-col gap-3 p-3 sm:p-4">
      <div className="flex flex-wrap items-center gap-2">
        <Link to="/pipelines" className="text-sm text-muted-foreground underline-offset-2 hover:underline">
          {t("pipelines.builder.back")}
        </Link>
        <span aria-hidden className="text-muted-foreground">/</span>
        <h1 className="text-xl font-semibold">{pipeline.data.name}</h1>
        <StateBadge state={pipeline.data.state} />
        <span className="text-xs text-muted-foreground" data-testid="deployed-version">
          {deployedNumber ? t("pipelines.builder.deployedVersion", { number: deployedNumber }) : t("pipelines.builder.neverDeployed")}
        </span>
        {dirty && <span className="text-xs font-medium" data-testid="dirty">{t("pipelines.builder.unsaved")}</span>}
        <span className="text-xs text-muted-foreground" data-testid="feed-connection" data-state={feed.connection}>
          {feed.connection === "open" ? `● ${t("pipelines.builder.live")}` : ""}
        </span>
        <div className="ml-auto flex flex-wrap gap-2">
          <Button type="button" variant="outline" size="sm" onClick={() => void layout()} disabled={readOnly || !draft.nodes.length}>
            {t("pipelines.builder.layout")}
          </Button>
          {canEdit && (
            <>
              <Button type="button" variant="outline" size="sm" onClick={() => void save()} disabled={busy || !dirty}>
                {t("pipelines.builder.save")}
              </Button>
              <Button type="button" size="sm" onClick={() => setDeployOpen(true)} disabled={busy}
                aria-expanded={deployOpen} aria-controls="deploy-panel">
                {t("pipelines.builder.deploy")}
              </Button>
              {running && (
                <Button type="button" variant="outline" size="sm" onClick={() => void stop()} disabled={busy}>
                  {t("pipelines.builder.stop")}
                </Button>
              )}
              {deleting ? (
                <span className="flex flex-wrap items-center gap-2" role="group" aria-describedby="delete-hint">
                  <Button type="button" variant="destructive" size="sm" onClick={() => void remove()} disabled={busy} autoFocus>
                    {t("pipelines.builder.confirmDelete", { name: pipeline.data.name })}
                  </Button>
                  <Button type="button" variant="outline" size="sm" onClick={() => setDeleting(false)} disabled={busy}>
                    {t("pipelines.builder.cancelDelete")}
                  </Button>
                  <span id="delete-hint" className="text-xs text-muted-foreground">{t("pipelines.builder.deleteHint")}</span>
                </span>
              ) : (
                <Button type="button" variant="outline" size="sm" onClick={() => setDeleting(true)} disabled={busy}>
                  {t("pipelines.builder.delete")}
                </Button>
              )}
            </>
          )}
        </div>
      </div>
      {readOnly && <p className="text-xs text-muted-foreground">{t("pipelines.builder.readOnly")}</p>}
      <div aria-live="polite" data-testid="notice">
        {notice && (
          <div role={notice.kind === "error" ? "alert" : "status"}
            className={notice.kind === "error" ? "rounded-md border border-destructive p-2 text-sm text-destructive" : "rounded-md border p-2 text-sm"}>
            <p>{notice.text}</p>
            {notice.details && <ul className="list-disc pl-5 text-xs">{notice.details.map((d) => <li key={d}>{d}</li>)}</ul>}
          </div>
        )}
      </div>
      {deployOpen && (
        <div id="deploy-panel">
          <DeployPanel diff={diff} deployed={deployedNumber} busy={busy} onConfirm={() => void deploy()}
            onCancel={() => setDeployOpen(false)} />
        </div>
      )}
      <div className="grid gap-3 lg:grid-cols-[200px_minmax(0,1fr)_340px]">
        <aside className="lg:max-h-[70vh] lg:overflow-y-auto">
          <Palette types={types.data} readOnly={readOnly} onAdd={(type) => addNode(type)} />
        </aside>
        <Canvas graph={draft} catalogue={catalogue} flowNodes={flowNodes} flowEdges={flowEdges} readOnly={readOnly}
          onNodesChange={onNodesChange} onEdgesChange={onEdgesChange} onConnect={onConnect}
          onDropType={(type, position) => addNode(type, position)} onPaneClick={() => { choose(null); setSelectedEdge(null); }} />
        <aside aria-label={t("pipelines.inspector.title")} className="rounded-md border p-3 lg:max-h-[70vh] lg:overflow-y-auto" tabIndex={-1}>
          {node ? (
            <Inspector key={node.id} graph={draft} node={node} spec={catalogue.get(node.type)} catalogue={catalogue}
              status={nodeStatus(running, counted.get(node.id), live[node.id], now)} counted={countersOf(node)}
              problems={problemsOf(node.id)} runs={runs.data ?? []} readOnly={readOnly} timeZone={timeZone}
              onConfig={(config) => {
                edit((graph) => ({ ...graph, nodes: graph.nodes.map((n) => (n.id === node.id ? { ...n, config } : n)) }));
                setProblems((list) => list.filter((p) => !(p.node === node.id && p.configPath)));
              }}
              onLabel={(label) => edit((graph) => ({
                ...graph, nodes: graph.nodes.map((n) => (n.id === node.id ? { ...n, label: label || undefined } : n)),
              }))}
              onDelete={() => removeNode(node.id)}
              onConnect={connect}
              onDisconnect={(edge) => edit((graph) => ({ ...graph, edges: graph.edges.filter((e) => edgeKey(e) !== edgeKey(edge)) }))}
              onProblems={showProblem} />
          ) : <p className="text-sm text-muted-foreground">{t("pipelines.inspector.none")}</p>}
        </aside>
      </div>
      <div className="grid gap-3 lg:grid-cols-2">
        <RunsPanel runs={runs.data ?? []} timeZone={timeZone} />
        <div className="flex flex-col gap-3">
          <CountersTable counters={counters.data ?? []} timeZone={timeZone} />
          <VersionsPanel versions={versions.data ?? []} deployed={deployedNumber} timeZone={timeZone}
            onRestore={canEdit ? (number) => void restore(number) : undefined} />
        </div>
      </div>
    </main>
  );
}
