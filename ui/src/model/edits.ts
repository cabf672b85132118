// Every change the designer makes to the document, as pure functions Recipe → Recipe.
// Owns: the editing rules (wiring, naming, copy/paste). Never: React, the store, undo, or I/O;
// never a secret value in the document. Inputs are never mutated: each edit returns a new Recipe.

import type {
  Component,
  Image,
  InputValue,
  KeepRunning,
  Node,
  Position,
  Recipe,
} from "../bindings/recipe";
import {
  formatWire,
  isBuiltIn,
  isWire,
  MODULE_NAME,
  parseWire,
  sanitizeName,
  uniqueName,
} from "./wires";

export type EditResult<T = object> = ({ ok: true; recipe: Recipe } & T) | { ok: false; message: string };

const clone = <T>(value: T): T => structuredClone(value);

export function emptyRecipe(name = "untitled"): Recipe {
  return { slipway: 1, name, deployment: { keep_running: "on-success", nodes: {} } };
}

function nodeTaken(recipe: Recipe) {
  return (name: string) => name in recipe.deployment.nodes;
}

function setPosition(recipe: Recipe, name: string, position: Position) {
  recipe.layout = { ...(recipe.layout ?? {}), [name]: { x: Math.round(position.x), y: Math.round(position.y) } };
}

// ---------------------------------------------------------------- adding nodes

export interface AddComponentArgs {
  /** Component name, as in the library and the document. */
  component: string;
  /** Its definition, when the document does not hold it yet (dragged from the library). */
  definition?: Component;
  /** The image it is built on, when the document does not hold it yet. */
  image?: { name: string; body: Image };
  position: Position;
}

/** Adds a node instantiating `component` at the drop position, under a fresh name. */
export function addNodeFromComponent(recipe: Recipe, args: AddComponentArgs): EditResult<{ name: string }> {
  const next = clone(recipe);
  if (!next.components?.[args.component]) {
    if (!args.definition) return { ok: false, message: `component \`${args.component}\` is unknown` };
    next.components = { ...(next.components ?? {}), [args.component]: clone(args.definition) };
  }
  if (args.image && !next.images?.[args.image.name]) {
    next.images = { ...(next.images ?? {}), [args.image.name]: clone(args.image.body) };
  }
  const name = uniqueName(args.component, nodeTaken(next));
  next.deployment.nodes[name] = { component: args.component };
  setPosition(next, name, args.position);
  return { ok: true, recipe: next, name };
}

export interface AddImageArgs {
  image: string;
  body?: Image;
  position: Position;
}

/**
 * Adds a node of a bare machine built on `image`: a new component `<image>-machine` with no
 * recipes (reused when the document already has that bare machine).
 */
export function addNodeFromImage(
  recipe: Recipe,
  args: AddImageArgs,
): EditResult<{ name: string; component: string }> {
  let next = clone(recipe);
  if (!next.images?.[args.image]) {
    if (!args.body) return { ok: false, message: `image \`${args.image}\` is unknown` };
    next.images = { ...(next.images ?? {}), [args.image]: clone(args.body) };
  }
  const components = next.components ?? {};
  const isBareOf = (c: Component | undefined) =>
    c !== undefined &&
    c.image === args.image &&
    Object.keys(c.inputs ?? {}).length === 0 &&
    Object.keys(c.outputs ?? {}).length === 0 &&
    Object.keys(c.recipes ?? {}).length === 0;
  const base = `${args.image}-machine`;
  const component = isBareOf(components[base])
    ? base
    : uniqueName(base, (n) => n in components);
  if (!components[component]) {
    next.components = {
      ...components,
      [component]: { description: `A bare ${args.image} machine`, image: args.image },
    };
  }
  const added = addNodeFromComponent(next, { component, position: args.position });
  if (!added.ok) return added;
  next = added.recipe;
  return { ok: true, recipe: next, name: added.name, component };
}

// ---------------------------------------------------------------- wiring

export interface ConnectArgs {
  source: string;
  /** An output of the source's component or a built-in parameter. */
  param: string;
  /** `node.N.param`: take instance N only. */
  index?: number;
  target: string;
  input: string;
}

/** Recipe-output wires (built-ins excluded) as producer → consumers, optionally leaving one input out. */
function outputGraph(recipe: Recipe, skip?: { target: string; input: string }): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [consumer, node] of Object.entries(recipe.deployment.nodes)) {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      if (skip && skip.target === consumer && skip.input === input) continue;
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (!w || isBuiltIn(w.param) || !(w.node in recipe.deployment.nodes)) continue;
      const list = graph.get(w.node) ?? [];
      if (!list.includes(consumer)) list.push(consumer);
      graph.set(w.node, list);
    }
  }
  for (const list of graph.values()) list.sort();
  return graph;
}

/** Shortest path from `from` to `to` in the graph (breadth first), or null. */
function findPath(graph: Map<string, string[]>, from: string, to: string): string[] | null {
  const prev = new Map<string, string>();
  const queue = [from];
  const seen = new Set([from]);
  while (queue.length > 0) {
    const n = queue.shift()!;
    if (n === to) {
      const path = [n];
      let cur = n;
      while (prev.has(cur)) {
        cur = prev.get(cur)!;
        path.unshift(cur);
      }
      return path;
    }
    for (const m of graph.get(n) ?? []) {
      if (!seen.has(m)) {
        seen.add(m);
        prev.set(m, n);
        queue.push(m);
      }
    }
  }
  return null;
}

/** Why a wire may not be drawn, or null when it may. Same rules as `connect`. */
export function connectProblem(recipe: Recipe, args: ConnectArgs): string | null {
  const { source, param, target, input } = args;
  const nodes = recipe.deployment.nodes;
  const src = nodes[source];
  const dst = nodes[target];
  if (!src) return `there is no node \`${source}\``;
  if (!dst) return `there is no node \`${target}\``;
  if (source === target) return `a node cannot be wired to itself (\`${source}\`)`;
  const srcComponent = recipe.components?.[src.component];
  if (!isBuiltIn(param) && !srcComponent?.outputs?.[param]) {
    return `\`${param}\` is not an output of node \`${source}\`; wires start at an output or a built-in parameter`;
  }
  const dstComponent = recipe.components?.[dst.component];
  if (!dstComponent?.inputs?.[input]) {
    return `\`${input}\` is not an input of node \`${target}\`; wires end at an input`;
  }
  if (args.index !== undefined && (!Number.isInteger(args.index) || args.index < 1)) {
    return `instance index must be 1 or more`;
  }
  if (!isBuiltIn(param)) {
    const graph = outputGraph(recipe, { target, input });
    const back = findPath(graph, target, source);
    if (back) {
      const names = [source, ...back];
      return `wire cycle: ${names.join(" → ")} — each of these nodes would wait for another's outputs`;
    }
  }
  return null;
}

/**
 * Wires `source.param` (or `source.N.param`) into `target.input`. Only an output or built-in to
 * an input, never a node to itself, one wire per input (a new wire replaces the old one), and
 * never a cycle of recipe-output wires (built-ins are known at provisioning, so they never close one).
 */
export function connect(recipe: Recipe, args: ConnectArgs): EditResult<{ replaced?: string }> {
  const problem = connectProblem(recipe, args);
  if (problem) return { ok: false, message: problem };
  const next = clone(recipe);
  const node = next.deployment.nodes[args.target]!;
  const old = node.inputs?.[args.input];
  const from = formatWire(
    args.index === undefined
      ? { node: args.source, param: args.param }
      : { node: args.source, index: args.index, param: args.param },
  );
  node.inputs = { ...(node.inputs ?? {}), [args.input]: { from } };
  const result: { ok: true; recipe: Recipe; replaced?: string } = { ok: true, recipe: next };
  if (isWire(old) && old.from !== from) result.replaced = old.from;
  return result;
}

export function disconnect(recipe: Recipe, target: string, input: string): Recipe {
  const next = clone(recipe);
  const node = next.deployment.nodes[target];
  if (node?.inputs && isWire(node.inputs[input])) {
    delete node.inputs[input];
  }
  return next;
}

/** Sets which instance a wire reads: `null` for all instances (joined by `,`). */
export function setWireIndex(recipe: Recipe, target: string, input: string, index: number | null): Recipe {
  const next = clone(recipe);
  const value = next.deployment.nodes[target]?.inputs?.[input];
  if (!isWire(value)) return next;
  const w = parseWire(value.from);
  if (!w) return next;
  const wire = index === null ? { node: w.node, param: w.param } : { node: w.node, index, param: w.param };
  next.deployment.nodes[target]!.inputs![input] = { from: formatWire(wire) };
  return next;
}

// ---------------------------------------------------------------- deleting

export interface Selection {
  nodes: string[];
  /** Wires, as the input they end at. */
  wires: { target: string; input: string }[];
}

/** Removes the selected wires, and the selected nodes with every wire from or to them. */
export function deleteSelection(recipe: Recipe, selection: Selection): Recipe {
  const next = clone(recipe);
  const gone = new Set(selection.nodes);
  for (const w of selection.wires) {
    const node = next.deployment.nodes[w.target];
    if (node?.inputs && isWire(node.inputs[w.input])) delete node.inputs[w.input];
  }
  for (const name of gone) {
    delete next.deployment.nodes[name];
    if (next.layout) delete next.layout[name];
  }
  for (const node of Object.values(next.deployment.nodes)) {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (w && gone.has(w.node)) delete node.inputs![input];
    }
  }
  return next;
}

// ---------------------------------------------------------------- copy / paste

export interface Clipboard {
  nodes: Record<string, Node>;
  layout: Record<string, Position>;
  /** Definitions the nodes need, so that pasting into another deployment works. */
  components: Record<string, Component>;
  images: Record<string, Image>;
}

export function copyNodes(recipe: Recipe, names: string[]): Clipboard | null {
  const picked = names.filter((n) => n in recipe.deployment.nodes);
  if (picked.length === 0) return null;
  const clip: Clipboard = { nodes: {}, layout: {}, components: {}, images: {} };
  for (const name of picked) {
    const node = recipe.deployment.nodes[name]!;
    clip.nodes[name] = clone(node);
    const pos = recipe.layout?.[name];
    if (pos) clip.layout[name] = { ...pos };
    const component = recipe.components?.[node.component];
    if (component) {
      clip.components[node.component] = clone(component);
      const imageName = component.image.split("@")[0]!;
      const image = recipe.images?.[imageName];
      if (image) clip.images[imageName] = clone(image);
    }
  }
  return clip;
}

/**
 * Pastes nodes under fresh names, offset by `offset`. Wires among pasted nodes follow the new
 * names; wires to nodes outside the clipboard are kept when that node exists here, dropped otherwise.
 */
export function paste(
  recipe: Recipe,
  clip: Clipboard,
  offset: Position = { x: 40, y: 40 },
): EditResult<{ names: string[] }> {
  const next = clone(recipe);
  for (const [name, c] of Object.entries(clip.components)) {
    if (!next.components?.[name]) next.components = { ...(next.components ?? {}), [name]: clone(c) };
  }
  for (const [name, i] of Object.entries(clip.images)) {
    if (!next.images?.[name]) next.images = { ...(next.images ?? {}), [name]: clone(i) };
  }
  const renamed = new Map<string, string>();
  const taken = (n: string) => n in next.deployment.nodes || [...renamed.values()].includes(n);
  for (const name of Object.keys(clip.nodes)) renamed.set(name, uniqueName(name, taken));
  let i = 0;
  for (const [oldName, node] of Object.entries(clip.nodes)) {
    const newName = renamed.get(oldName)!;
    const copy = clone(node);
    for (const [input, value] of Object.entries(copy.inputs ?? {})) {
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (!w) continue;
      const producer = renamed.get(w.node);
      if (producer) copy.inputs![input] = { from: formatWire({ ...w, node: producer }) };
      else if (!(w.node in next.deployment.nodes)) delete copy.inputs![input];
    }
    next.deployment.nodes[newName] = copy;
    const pos = clip.layout[oldName] ?? { x: 40 + i * 40, y: 40 + i * 40 };
    setPosition(next, newName, { x: pos.x + offset.x, y: pos.y + offset.y });
    i++;
  }
  return { ok: true, recipe: next, names: [...renamed.values()] };
}

// ---------------------------------------------------------------- node properties

/** Renames a node, rewriting every wire that reads from it and its layout entry. */
export function renameNode(recipe: Recipe, from: string, to: string): EditResult {
  if (from === to) return { ok: true, recipe };
  if (!(from in recipe.deployment.nodes)) return { ok: false, message: `there is no node \`${from}\`` };
  if (!MODULE_NAME.test(to)) {
    return { ok: false, message: `\`${to}\` is not a valid node name: use a-z, 0-9, - and _, starting with a letter` };
  }
  if (to in recipe.deployment.nodes) return { ok: false, message: `a node named \`${to}\` already exists` };
  const next = clone(recipe);
  const nodes: Record<string, Node> = {};
  for (const [name, node] of Object.entries(next.deployment.nodes)) {
    for (const [input, value] of Object.entries(node.inputs ?? {})) {
      if (!isWire(value)) continue;
      const w = parseWire(value.from);
      if (w && w.node === from) node.inputs![input] = { from: formatWire({ ...w, node: to }) };
    }
    nodes[name === from ? to : name] = node;
  }
  next.deployment.nodes = nodes;
  if (next.layout) {
    const layout: Record<string, Position> = {};
    for (const [name, pos] of Object.entries(next.layout)) layout[name === from ? to : name] = pos;
    next.layout = layout;
  }
  return { ok: true, recipe: next };
}

export function setMultiplicity(recipe: Recipe, name: string, multiplicity: number): EditResult {
  if (!Number.isInteger(multiplicity) || multiplicity < 1) {
    return { ok: false, message: "multiplicity must be a whole number, 1 or more" };
  }
  const next = clone(recipe);
  const node = next.deployment.nodes[name];
  if (!node) return { ok: false, message: `there is no node \`${name}\`` };
  if (multiplicity === 1) delete node.multiplicity;
  else node.multiplicity = multiplicity;
  return { ok: true, recipe: next };
}

export function setCloud(recipe: Recipe, name: string, cloud: string | null): Recipe {
  const next = clone(recipe);
  const node = next.deployment.nodes[name];
  if (!node) return next;
  if (cloud === null || cloud.trim() === "") delete node.cloud;
  else node.cloud = cloud.trim();
  return next;
}

/** Sets a literal input value (`null` removes it). Secret inputs are refused: never in a document. */
export function setInputValue(recipe: Recipe, name: string, input: string, value: string | null): EditResult {
  const node = recipe.deployment.nodes[name];
  if (!node) return { ok: false, message: `there is no node \`${name}\`` };
  const spec = recipe.components?.[node.component]?.inputs?.[input];
  if (spec?.secret) {
    return { ok: false, message: `\`${input}\` is secret: its value is given at launch and never saved in the recipe` };
  }
  const next = clone(recipe);
  const n = next.deployment.nodes[name]!;
  const inputs: Record<string, InputValue> = { ...(n.inputs ?? {}) };
  if (value === null) delete inputs[input];
  else inputs[input] = value;
  if (Object.keys(inputs).length === 0) delete n.inputs;
  else n.inputs = inputs;
  return { ok: true, recipe: next };
}

/** Drops whatever a node gives an input: a literal (even a secret one found in a file) or a wire. */
export function clearInput(recipe: Recipe, name: string, input: string): Recipe {
  const next = clone(recipe);
  const n = next.deployment.nodes[name];
  if (n?.inputs && input in n.inputs) {
    delete n.inputs[input];
    if (Object.keys(n.inputs).length === 0) delete n.inputs;
  }
  return next;
}

/** Moves nodes (one undoable step for a whole drag). */
export function moveNodes(recipe: Recipe, positions: Record<string, Position>): Recipe {
  const next = clone(recipe);
  for (const [name, pos] of Object.entries(positions)) {
    if (name in next.deployment.nodes) setPosition(next, name, pos);
  }
  return next;
}

export interface DeploymentMeta {
  name?: string;
  description?: string | null;
  keep_running?: KeepRunning;
}

export function setDeploymentMeta(recipe: Recipe, meta: DeploymentMeta): EditResult {
  if (meta.name !== undefined && !MODULE_NAME.test(meta.name)) {
    return { ok: false, message: `\`${meta.name}\` is not a valid deployment name` };
  }
  const next = clone(recipe);
  if (meta.name !== undefined) next.name = meta.name;
  if (meta.description !== undefined) {
    if (meta.description === null || meta.description === "") delete next.description;
    else next.description = meta.description;
  }
  if (meta.keep_running !== undefined) next.deployment.keep_running = meta.keep_running;
  return { ok: true, recipe: next };
}

// ---------------------------------------------------------------- modules

/** Replaces a component's definition (its inputs, outputs, recipes…). */
export function setComponent(recipe: Recipe, name: string, component: Component): Recipe {
  const next = clone(recipe);
  next.components = { ...(next.components ?? {}), [name]: clone(component) };
  return next;
}

/** Replaces an image's definition (its clouds and recipes). */
export function setImage(recipe: Recipe, name: string, image: Image): Recipe {
  const next = clone(recipe);
  next.images = { ...(next.images ?? {}), [name]: clone(image) };
  return next;
}

/** Renames a component input, rewriting the values nodes give it. */
export function renameComponentInput(recipe: Recipe, component: string, from: string, to: string): EditResult {
  const c = recipe.components?.[component];
  if (!c?.inputs?.[from]) return { ok: false, message: `component \`${component}\` has no input \`${from}\`` };
  if (!/^[a-z_][a-z0-9_]*$/.test(to)) {
    return { ok: false, message: `\`${to}\` is not a valid input name: use a-z, 0-9 and _` };
  }
  if (from !== to && c.inputs[to]) return { ok: false, message: `input \`${to}\` already exists` };
  const next = clone(recipe);
  const inputs = next.components![component]!.inputs!;
  next.components![component]!.inputs = Object.fromEntries(
    Object.entries(inputs).map(([k, v]) => [k === from ? to : k, v]),
  );
  for (const node of Object.values(next.deployment.nodes)) {
    if (node.component !== component || !node.inputs || !(from in node.inputs)) continue;
    node.inputs = Object.fromEntries(Object.entries(node.inputs).map(([k, v]) => [k === from ? to : k, v]));
  }
  return { ok: true, recipe: next };
}

/** Renames a component output, rewriting the wires that read it. */
export function renameComponentOutput(recipe: Recipe, component: string, from: string, to: string): EditResult {
  const c = recipe.components?.[component];
  if (!c?.outputs?.[from]) return { ok: false, message: `component \`${component}\` has no output \`${from}\`` };
  if (!MODULE_NAME.test(to) || isBuiltIn(to)) {
    return { ok: false, message: `\`${to}\` is not a valid output name` };
  }
  if (from !== to && c.outputs[to]) return { ok: false, message: `output \`${to}\` already exists` };
  const next = clone(recipe);
  next.components![component]!.outputs = Object.fromEntries(
    Object.entries(next.components![component]!.outputs!).map(([k, v]) => [k === from ? to : k, v]),
  );
  for (const [producer, pnode] of Object.entries(recipe.deployment.nodes)) {
    if (pnode.component !== component) continue;
    for (const node of Object.values(next.deployment.nodes)) {
      for (const [input, value] of Object.entries(node.inputs ?? {})) {
        if (!isWire(value)) continue;
        const w = parseWire(value.from);
        if (w && w.node === producer && w.param === from) node.inputs![input] = { from: formatWire({ ...w, param: to }) };
      }
    }
  }
  return { ok: true, recipe: next };
}

/** A fresh, valid parameter name such as `input_2`. */
export function freshParamName(existing: Record<string, unknown> | undefined, base: string): string {
  const taken = (n: string) => n in (existing ?? {});
  if (!taken(base)) return base;
  for (let i = 2; ; i++) if (!taken(`${base}_${i}`)) return `${base}_${i}`;
}

export { sanitizeName };
