// Wire references (`from: node.param`, `from: node.N.param`) and the names every instance has.
// Owns: parsing and printing wire text, and small recipe look-ups shared by the model modules.
// Never: React, the store, or I/O.

import type { Component, InputValue, Recipe } from "../bindings/recipe";

/** Built-in parameters of every instance, in documented order (model.rs BUILT_IN_PARAMETERS). */
export const BUILT_IN_PARAMETERS = ["hostname", "instance_id", "index", "node", "cloud"] as const;

export const MODULE_NAME = /^[a-z][a-z0-9_-]*$/;
export const INPUT_NAME = /^[a-z_][a-z0-9_]*$/;

export function isBuiltIn(param: string): boolean {
  return (BUILT_IN_PARAMETERS as readonly string[]).includes(param);
}

export interface WireRef {
  node: string;
  /** 1-based instance index for `node.N.param`; absent for all instances. */
  index?: number;
  param: string;
}

/** Splits `node.param` or `node.N.param`; checks shape only (same rules as WireRef::parse). */
export function parseWire(text: string): WireRef | null {
  const parts = text.split(".");
  let node: string;
  let param: string;
  let index: number | undefined;
  if (parts.length === 2) {
    [node, param] = parts as [string, string];
  } else if (parts.length === 3) {
    const [n, i, p] = parts as [string, string, string];
    if (!/^[1-9][0-9]*$/.test(i)) return null;
    node = n;
    param = p;
    index = Number(i);
  } else {
    return null;
  }
  if (!node || !param) return null;
  return index === undefined ? { node, param } : { node, index, param };
}

export function formatWire(w: WireRef): string {
  return w.index === undefined ? `${w.node}.${w.param}` : `${w.node}.${w.index}.${w.param}`;
}

export function isWire(value: InputValue | undefined): value is { from: string } {
  return typeof value === "object" && value !== null && "from" in value;
}

export function componentOf(recipe: Recipe, nodeName: string): Component | undefined {
  const node = recipe.deployment.nodes[nodeName];
  return node ? recipe.components?.[node.component] : undefined;
}

/** Output handles of a node: its component's outputs, then the built-ins. */
export function outputParams(component: Component | undefined): string[] {
  return Object.keys(component?.outputs ?? {});
}

/** `base`, or `base-2`, `base-3`… : the first that `taken` does not hold. */
export function uniqueName(base: string, taken: (name: string) => boolean): string {
  const clean = sanitizeName(base);
  if (!taken(clean)) return clean;
  const stem = clean.replace(/-\d+$/, "");
  for (let i = 2; ; i++) {
    const candidate = `${stem}-${i}`;
    if (!taken(candidate)) return candidate;
  }
}

/** Turns any text into a valid module/node name (`[a-z][a-z0-9_-]*`). */
export function sanitizeName(text: string): string {
  let s = text.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(s)) s = `n-${s}`.replace(/-+$/, "");
  return s || "node";
}
