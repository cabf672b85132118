// Auto-layout: a pure function from the document to node positions (dagre, left to right along
// the wires). Owns: node size estimates and layout settings. Never: React, the store, or I/O.
// Deterministic: the same recipe (and sizes) always gives the same positions.

import dagre from "@dagrejs/dagre";
import type { Position, Recipe } from "../bindings/recipe";
import { BUILT_IN_PARAMETERS, isWire, parseWire } from "./wires";

export interface Size {
  width: number;
  height: number;
}

/** Geometry of the canvas node, shared with the node component's CSS. */
export const NODE_WIDTH = 240;
export const NODE_HEADER = 58;
export const PORT_ROW = 22;
export const NODE_PADDING = 20;

/** The size a node is drawn at, estimated from its ports (used before the canvas measured it). */
export function estimateSize(recipe: Recipe, name: string): Size {
  const node = recipe.deployment.nodes[name];
  const component = node ? recipe.components?.[node.component] : undefined;
  const inputs = new Set([...Object.keys(component?.inputs ?? {}), ...Object.keys(node?.inputs ?? {})]);
  const outputs = Object.keys(component?.outputs ?? {}).length + BUILT_IN_PARAMETERS.length;
  const rows = Math.max(inputs.size, outputs) + 1;
  return { width: NODE_WIDTH, height: NODE_HEADER + rows * PORT_ROW + NODE_PADDING };
}

export interface LayoutOptions {
  /** Measured sizes by node name; estimates are used for the others. */
  sizes?: Record<string, Size>;
  origin?: Position;
}

/** Positions (top-left corners) for every node of the deployment, wires flowing left to right. */
export function autoLayout(recipe: Recipe, options: LayoutOptions = {}): Record<string, Position> {
  const g = new dagre.graphlib.Graph({ multigraph: false });
  g.setGraph({ rankdir: "LR", nodesep: 48, ranksep: 110, marginx: 0, marginy: 0 });
  g.setDefaultEdgeLabel(() => ({}));
  const names = Object.keys(recipe.deployment.nodes).sort();
  const sizes: Record<string, Size> = {};
  for (const name of names) {
    const size = options.sizes?.[name] ?? estimateSize(recipe, name);
    sizes[name] = size;
    g.setNode(name, { width: size.width, height: size.height });
  }
  for (const consumer of names) {
    const node = recipe.deployment.nodes[consumer]!;
    const inputs = Object.keys(node.inputs ?? {}).sort();
    for (const input of inputs) {
      const value = node.inputs![input];
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (!w || w.node === consumer || !(w.node in recipe.deployment.nodes)) continue;
      if (!g.hasEdge(w.node, consumer)) g.setEdge(w.node, consumer);
    }
  }
  dagre.layout(g);
  const origin = options.origin ?? { x: 40, y: 40 };
  let minX = Infinity;
  let minY = Infinity;
  for (const name of names) {
    const n = g.node(name);
    minX = Math.min(minX, n.x - sizes[name]!.width / 2);
    minY = Math.min(minY, n.y - sizes[name]!.height / 2);
  }
  const out: Record<string, Position> = {};
  for (const name of names) {
    const n = g.node(name);
    out[name] = {
      x: Math.round(n.x - sizes[name]!.width / 2 - minX + origin.x),
      y: Math.round(n.y - sizes[name]!.height / 2 - minY + origin.y),
    };
  }
  return out;
}

/** Whether two nodes' boxes overlap (used by tests and by paste). */
export function overlaps(a: Position, sa: Size, b: Position, sb: Size): boolean {
  return a.x < b.x + sb.width && b.x < a.x + sa.width && a.y < b.y + sb.height && b.y < a.y + sa.height;
}
