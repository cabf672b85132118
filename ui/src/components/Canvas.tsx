// The graph canvas: draws the document through model/mapping.ts and turns gestures into edits.
// Owns: the viewport and transient drag state. Never: document state of its own — the document
// (and so every position) lives in the store; a drag is committed once, on drag stop.

import { useCallback, useEffect, useMemo, useState, type DragEvent } from "react";
import {
  applyNodeChanges,
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
  type OnConnectEnd,
} from "@xyflow/react";
import { designer, resolvedTheme, useDesigner } from "../store";
import { connect, connectProblem, type ConnectArgs } from "../model/edits";
import { handleName, NODE_TYPE, recipeToFlow, type SlipwayFlowNode, type WireEdge } from "../model/mapping";
import { dropModule } from "../actions";
import type { ModuleKind } from "../api-types";
import type { Size } from "../model/layout";
import { SlipwayNode } from "./SlipwayNode";
import { Icon } from "./Icon";

export const MODULE_MIME = "application/x-slipway-module";

const nodeTypes = { [NODE_TYPE]: SlipwayNode };

/** Sizes of the nodes as drawn, for auto-layout; filled in by the mounted canvas. */
export const measured: { sizes: () => Record<string, Size> } = { sizes: () => ({}) };

function argsOf(c: Connection | { source: string; sourceHandle?: string | null; target: string; targetHandle?: string | null }): ConnectArgs {
  return { source: c.source, param: handleName(c.sourceHandle), target: c.target, input: handleName(c.targetHandle) };
}

export function Canvas() {
  const doc = useDesigner((s) => s.doc);
  const problems = useDesigner((s) => s.problems);
  const selection = useDesigner((s) => s.selection);
  const focusRequest = useDesigner((s) => s.focusRequest);
  const fitRequest = useDesigner((s) => s.fitRequest);
  const theme = useDesigner(resolvedTheme);
  const flow = useReactFlow<SlipwayFlowNode, WireEdge>();

  const mapped = useMemo(() => recipeToFlow(doc, { problems }), [doc, problems]);
  const [nodes, setNodes] = useState<SlipwayFlowNode[]>([]);

  // Re-derive canvas nodes from the document, keeping what xyflow measured and any drag in flight.
  useEffect(() => {
    setNodes((prev) => {
      const byId = new Map(prev.map((n) => [n.id, n]));
      return mapped.nodes.map((n) => {
        const old = byId.get(n.id);
        const next: SlipwayFlowNode = { ...n, selected: selection.nodes.includes(n.id) };
        if (old?.measured) next.measured = old.measured;
        if (old?.dragging) {
          next.position = old.position;
          next.dragging = true;
        }
        return next;
      });
    });
  }, [mapped.nodes, selection.nodes]);

  const edges = useMemo<WireEdge[]>(
    () =>
      mapped.edges.map((e) => ({
        ...e,
        selected: selection.edges.includes(e.id),
        className: e.data?.builtIn ? "sw-wire sw-wire--builtin" : "sw-wire",
        ariaLabel: `wire ${e.data?.from ?? e.source} to ${e.target}.${handleName(e.targetHandle)}`,
        domAttributes: { "data-testid": `wire-${e.target}-${handleName(e.targetHandle)}` } as Record<string, string>,
        ...(e.label ? { labelBgPadding: [6, 2] as [number, number], labelBgBorderRadius: 6, labelShowBg: true } : {}),
      })),
    [mapped.edges, selection.edges],
  );

  const onNodesChange = useCallback((changes: NodeChange<SlipwayFlowNode>[]) => {
    const kept = changes.filter((c) => c.type !== "remove" && c.type !== "add");
    setNodes((ns) => applyNodeChanges(kept, ns));
    const selects = changes.filter((c) => c.type === "select");
    if (selects.length > 0) {
      const s = designer.getState();
      const set = new Set(s.selection.nodes);
      for (const c of selects) (c.selected ? set.add(c.id) : set.delete(c.id));
      s.setSelection([...set], s.selection.edges);
    }
  }, []);

  const onEdgesChange = useCallback((changes: EdgeChange<WireEdge>[]) => {
    const selects = changes.filter((c) => c.type === "select");
    if (selects.length === 0) return;
    const s = designer.getState();
    const set = new Set(s.selection.edges);
    for (const c of selects) (c.selected ? set.add(c.id) : set.delete(c.id));
    s.setSelection(s.selection.nodes, [...set]);
  }, []);

  const onNodeDragStop = useCallback((_: unknown, __: SlipwayFlowNode, dragged: SlipwayFlowNode[]) => {
    const positions = Object.fromEntries(dragged.map((n) => [n.id, { x: n.position.x, y: n.position.y }]));
    designer.getState().moveNodes(positions);
  }, []);

  const onConnect = useCallback((c: Connection) => {
    const s = designer.getState();
    const args = argsOf(c);
    const r = connect(s.doc, args);
    if (s.apply(r) && r.ok && r.replaced) {
      s.notify("info", `Rewired ${args.target}.${args.input} (was ${r.replaced})`);
    }
  }, []);

  const isValidConnection = useCallback<IsValidConnection<WireEdge>>(
    (c) => connectProblem(designer.getState().doc, argsOf(c)) === null,
    [],
  );

  // A wire dropped on a port that refused it: say why (a cycle, a self-wire…).
  const onConnectEnd = useCallback<OnConnectEnd>((_, state: FinalConnectionState) => {
    if (state.isValid || !state.fromHandle || !state.toHandle) return;
    const [from, to] = state.fromHandle.type === "source" ? [state.fromHandle, state.toHandle] : [state.toHandle, state.fromHandle];
    if (from.type !== "source" || to.type !== "target") {
      designer.getState().notify("error", "A wire goes from an output or built-in (right) to an input (left).");
      return;
    }
    const problem = connectProblem(designer.getState().doc, argsOf({ source: from.nodeId, sourceHandle: from.id ?? null, target: to.nodeId, targetHandle: to.id ?? null }));
    if (problem) designer.getState().notify("error", problem);
  }, []);

  useEffect(() => {
    measured.sizes = () => {
      const out: Record<string, Size> = {};
      for (const n of flow.getNodes()) {
        if (n.measured?.width && n.measured.height) out[n.id] = { width: n.measured.width, height: n.measured.height };
      }
      return out;
    };
    return () => {
      measured.sizes = () => ({});
    };
  }, [flow]);

  // Viewport requests from the store: centre a node, fit the view.
  useEffect(() => {
    if (!focusRequest) return;
    const n = flow.getInternalNode(focusRequest.node);
    if (!n) return;
    const w = n.measured.width ?? 240;
    const h = n.measured.height ?? 160;
    void flow.setCenter(n.internals.positionAbsolute.x + w / 2, n.internals.positionAbsolute.y + h / 2, {
      zoom: Math.max(flow.getZoom(), 1),
      duration: 350,
    });
  }, [focusRequest, flow]);

  useEffect(() => {
    if (fitRequest === 0) return;
    const t = setTimeout(() => void flow.fitView({ padding: 0.12, duration: 300, maxZoom: 1 }), 30);
    return () => clearTimeout(t);
  }, [fitRequest, flow]);

  const onDragOver = useCallback((e: DragEvent) => {
    if (!e.dataTransfer.types.includes(MODULE_MIME)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const raw = e.dataTransfer.getData(MODULE_MIME);
      if (!raw) return;
      e.preventDefault();
      const { kind, name } = JSON.parse(raw) as { kind: ModuleKind; name: string };
      const p = flow.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      void dropModule(kind, name, { x: p.x - 120, y: p.y - 24 });
    },
    [flow],
  );

  const empty = Object.keys(doc.deployment.nodes).length === 0;

  return (
    <div className="sw-canvas" data-testid="canvas" onDragOver={onDragOver} onDrop={onDrop}>
      <ReactFlow<SlipwayFlowNode, WireEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onNodeDragStop={onNodeDragStop}
        onSelectionDragStop={(_, dragged) => onNodeDragStop(null, dragged[0]!, dragged)}
        onConnect={onConnect}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        colorMode={theme}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={["Shift", "Meta", "Control"]}
        selectionOnDrag={false}
        panOnDrag
        snapToGrid
        snapGrid={[10, 10]}
        minZoom={0.2}
        maxZoom={2}
        fitView
        fitViewOptions={{ padding: 0.12, maxZoom: 1 }}
        proOptions={{ hideAttribution: true }}
        defaultEdgeOptions={{ type: "default" }}
        connectionRadius={28}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} className="sw-canvas__bg" />
        {empty ? null : (
        <MiniMap
          pannable
          zoomable
          className="sw-minimap"
          style={{ width: 168, height: 112 }}
          nodeBorderRadius={8}
          nodeClassName={(n) => {
            const issues = (n as SlipwayFlowNode).data.issues;
            if (issues.some((i) => i.severity === "error")) return "sw-minimap__node has-error";
            return issues.length ? "sw-minimap__node has-warning" : "sw-minimap__node";
          }}
          ariaLabel="Minimap"
        />
        )}
        <Controls showInteractive={false} className="sw-controls" aria-label="Zoom controls" />
      </ReactFlow>
      {empty ? (
        <div className="sw-canvas__empty" data-testid="canvas-empty">
          <Icon name="deployment" size={28} />
          <h2>An empty deployment</h2>
          <p>Drag an image or a component from the library onto the canvas, then wire an output into an input.</p>
        </div>
      ) : null}
    </div>
  );
}
