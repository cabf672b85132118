// The ONE place where the document (a Recipe) becomes canvas data (xyflow nodes and edges) and back.
// Owns: node/edge ids, handle ids, what a canvas node carries. Never: edits, layout, React, I/O.
// Invariant: flowToRecipe(recipe, ...recipeToFlow(recipe)) equals recipe.

import type { Edge, Node as FlowNode } from "@xyflow/react";
import type { DiagnosticView, InputValue, Node, Position, Recipe } from "../bindings/recipe";
import { BUILT_IN_PARAMETERS, isBuiltIn, isWire, parseWire } from "./wires";
import { nodeOfPath, componentOfPath } from "./paths";

export const NODE_TYPE = "slipway";

export type PortState = "ok" | "unknown";

export interface InputPort {
  name: string;
  required: boolean;
  secret: boolean;
  /** Set by the component (`default:`) or by a literal on the node. */
  hasValue: boolean;
  wired: boolean;
  state: PortState;
  description?: string;
}

export interface OutputPort {
  name: string;
  builtIn: boolean;
  wired: boolean;
  state: PortState;
  description?: string;
}

/** What a canvas node carries: the document's node plus what the view needs to draw it. */
export interface SlipwayNodeData extends Record<string, unknown> {
  name: string;
  /** The deployment node, with only literal values and wires to missing nodes in `inputs`. */
  node: Node;
  /** Every input name of the document's node, in document order (literals and wires). */
  inputOrder: string[];
  /** Whether the document gave this node a position (`layout:`). */
  placed: boolean;
  componentMissing: boolean;
  componentDescription?: string;
  image?: string;
  inputs: InputPort[];
  outputs: OutputPort[];
  issues: DiagnosticView[];
}

export interface WireData extends Record<string, unknown> {
  from: string;
  param: string;
  index?: number;
  builtIn: boolean;
}

export type SlipwayFlowNode = FlowNode<SlipwayNodeData, typeof NODE_TYPE>;
export type WireEdge = Edge<WireData>;

export const inHandle = (input: string) => `in:${input}`;
export const outHandle = (param: string) => `out:${param}`;
export const handleName = (handle: string | null | undefined) =>
  handle ? handle.replace(/^(in|out):/, "") : "";
export const edgeId = (target: string, input: string) => `wire:${target}.${input}`;
export function parseEdgeId(id: string): { target: string; input: string } | null {
  const m = /^wire:([^.]+)\.(.+)$/.exec(id);
  return m ? { target: m[1]!, input: m[2]! } : null;
}

/** Position of a node the document did not place: a simple grid, later replaced by auto-layout. */
function fallbackPosition(i: number): Position {
  return { x: 40 + (i % 4) * 300, y: 40 + Math.floor(i / 4) * 240 };
}

export interface FlowOptions {
  problems?: DiagnosticView[];
}

export function recipeToFlow(
  recipe: Recipe,
  options: FlowOptions = {},
): { nodes: SlipwayFlowNode[]; edges: WireEdge[] } {
  const nodes: SlipwayFlowNode[] = [];
  const edges: WireEdge[] = [];
  const docNodes = recipe.deployment.nodes;
  const wiredOutputs = new Map<string, Set<string>>();

  Object.entries(docNodes).forEach(([name, node]) => {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (!w || !(w.node in docNodes)) continue;
      const set = wiredOutputs.get(w.node) ?? new Set<string>();
      set.add(w.param);
      wiredOutputs.set(w.node, set);
      const data: WireData = { from: value.from, param: w.param, builtIn: isBuiltIn(w.param) };
      if (w.index !== undefined) data.index = w.index;
      const edge: WireEdge = {
        id: edgeId(name, input),
        source: w.node,
        sourceHandle: outHandle(w.param),
        target: name,
        targetHandle: inHandle(input),
        data,
      };
      if (w.index !== undefined) edge.label = `#${w.index}`;
      edges.push(edge);
    }
  });

  const problems = options.problems ?? [];
  Object.entries(docNodes).forEach(([name, node], i) => {
    const component = recipe.components?.[node.component];
    const keptInputs: Record<string, InputValue> = {};
    const wiredInputs = new Set<string>();
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      const w = isWire(value) ? parseWire(value.from) : null;
      if (w && w.node in docNodes) wiredInputs.add(input);
      else keptInputs[input] = value;
    }
    const docNode: Node = { ...node };
    if (node.inputs !== undefined) docNode.inputs = keptInputs;

    const inputs: InputPort[] = Object.entries(component?.inputs ?? {}).map(([n, spec]) => {
      const port: InputPort = {
        name: n,
        required: spec.required ?? false,
        secret: spec.secret ?? false,
        hasValue: n in keptInputs || (spec.default ?? null) !== null || (spec.generate ?? null) !== null,
        wired: wiredInputs.has(n),
        state: "ok",
      };
      if (spec.description) port.description = spec.description;
      return port;
    });
    for (const n of Object.keys(node.inputs ?? {})) {
      if (!component?.inputs?.[n]) {
        inputs.push({
          name: n,
          required: false,
          secret: false,
          hasValue: n in keptInputs,
          wired: wiredInputs.has(n),
          state: component ? "unknown" : "ok",
        });
      }
    }
    const wired = wiredOutputs.get(name) ?? new Set<string>();
    const outputs: OutputPort[] = Object.entries(component?.outputs ?? {}).map(([n, spec]) => {
      const port: OutputPort = { name: n, builtIn: false, wired: wired.has(n), state: "ok" };
      if (spec.description) port.description = spec.description;
      return port;
    });
    for (const n of wired) {
      if (!isBuiltIn(n) && !component?.outputs?.[n]) {
        outputs.push({ name: n, builtIn: false, wired: true, state: component ? "unknown" : "ok" });
      }
    }
    for (const n of BUILT_IN_PARAMETERS) {
      outputs.push({ name: n, builtIn: true, wired: wired.has(n), state: "ok" });
    }

    const placed = recipe.layout?.[name];
    const data: SlipwayNodeData = {
      name,
      node: docNode,
      inputOrder: Object.keys(node.inputs ?? {}),
      placed: placed !== undefined,
      componentMissing: component === undefined,
      inputs,
      outputs,
      issues: problems.filter(
        (p) =>
          nodeOfPath(p.path) === name ||
          (componentOfPath(p.path) !== null && componentOfPath(p.path) === node.component),
      ),
    };
    if (component?.description) data.componentDescription = component.description;
    if (component?.image) data.image = component.image;
    nodes.push({
      id: name,
      type: NODE_TYPE,
      position: placed ? { x: placed.x, y: placed.y } : fallbackPosition(i),
      data,
    });
  });
  return { nodes, edges };
}

/**
 * Rebuilds the document from canvas data. `base` supplies what the canvas does not show
 * (name, images, components, keep_running, layout entries of nodes that do not exist).
 */
export function flowToRecipe(
  base: Recipe,
  nodes: SlipwayFlowNode[],
  edges: WireEdge[],
): Recipe {
  const byTarget = new Map<string, Map<string, WireEdge>>();
  for (const e of edges) {
    const input = handleName(e.targetHandle);
    const m = byTarget.get(e.target) ?? new Map<string, WireEdge>();
    m.set(input, e);
    byTarget.set(e.target, m);
  }
  const docNodes: Record<string, Node> = {};
  const positions: Record<string, Position> = {};
  for (const fn of nodes) {
    const { name, node, inputOrder } = fn.data;
    const wires = byTarget.get(fn.id) ?? new Map<string, WireEdge>();
    const inputs: Record<string, InputValue> = {};
    const wireOf = (e: WireEdge): InputValue => ({
      from:
        e.data?.from ??
        (e.data?.index !== undefined
          ? `${e.source}.${e.data.index}.${handleName(e.sourceHandle)}`
          : `${e.source}.${handleName(e.sourceHandle)}`),
    });
    for (const input of inputOrder) {
      const literal = node.inputs?.[input];
      const wire = wires.get(input);
      if (literal !== undefined) inputs[input] = literal;
      else if (wire) inputs[input] = wireOf(wire);
    }
    for (const [input, literal] of Object.entries(node.inputs ?? {})) {
      if (!(input in inputs)) inputs[input] = literal;
    }
    for (const [input, wire] of wires) {
      if (!(input in inputs)) inputs[input] = wireOf(wire);
    }
    const out: Node = { ...node };
    if (node.inputs !== undefined || Object.keys(inputs).length > 0) out.inputs = inputs;
    docNodes[name] = out;
    if (fn.data.placed) positions[name] = { x: fn.position.x, y: fn.position.y };
  }

  const layout: Record<string, Position> = {};
  for (const [name, pos] of Object.entries(base.layout ?? {})) {
    if (name in positions) layout[name] = positions[name]!;
    else if (!(name in docNodes)) layout[name] = pos;
  }
  for (const [name, pos] of Object.entries(positions)) {
    if (!(name in layout)) layout[name] = pos;
  }

  const recipe: Recipe = {
    ...base,
    deployment: { ...base.deployment, nodes: docNodes },
  };
  if (base.layout !== undefined || Object.keys(layout).length > 0) recipe.layout = layout;
  return recipe;
}
