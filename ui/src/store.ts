// The designer's state: the document (a Recipe), selection, undo/redo, clipboard, problems, theme.
// Owns: which document is open and how edits become undoable steps (snapshots of the whole
// document: simple and hard to get wrong). Never: I/O (see api.ts, called from components),
// or xyflow objects (the canvas derives those from the document in model/mapping.ts).

import { createStore, type StoreApi } from "zustand/vanilla";
import { useStore } from "zustand";
import type { DiagnosticView, Position, Recipe } from "./bindings/recipe";
import {
  copyNodes,
  deleteSelection,
  emptyRecipe,
  moveNodes,
  paste,
  type Clipboard,
  type EditResult,
} from "./model/edits";
import { autoLayout, type Size } from "./model/layout";
import { parseEdgeId } from "./model/mapping";

export const HISTORY_LIMIT = 200;

export type InspectorTarget =
  | { kind: "node"; name: string }
  | { kind: "component"; name: string }
  | { kind: "image"; name: string }
  | { kind: "deployment" };

export interface Banner {
  kind: "error" | "warning" | "success" | "info";
  title: string;
  detail?: string;
}

export interface Toast {
  kind: "error" | "info" | "success";
  text: string;
  seq: number;
}

export type ThemePreference = "system" | "light" | "dark";

export interface DesignerState {
  doc: Recipe;
  /** The library deployment this document was opened from, if any. */
  source: { name: string; version: number | null } | null;
  /** The document as last opened or saved, to tell whether there are unsaved changes. */
  savedJson: string;
  past: Recipe[];
  future: Recipe[];
  /** Consecutive commits with the same key (typing in one field) form one undoable step. */
  coalesceKey: string | null;

  selection: { nodes: string[]; edges: string[] };
  /** What the inspector shows when it is not the selected node (a component, an image…). */
  inspect: InspectorTarget | null;
  clipboard: Clipboard | null;
  pasteCount: number;

  problems: DiagnosticView[];
  /** Problems of a recipe file that failed to import (the document was left unchanged). */
  importFailure: { path: string; problems: DiagnosticView[] } | null;
  banner: Banner | null;
  toast: Toast | null;

  /** Requests to the canvas (it owns the viewport). `seq` makes repeated requests distinct. */
  focusRequest: { node: string; seq: number } | null;
  fitRequest: number;

  themePreference: ThemePreference;
  systemTheme: "light" | "dark";
}

export interface DesignerActions {
  load(doc: Recipe, source?: DesignerState["source"], options?: { saved?: boolean }): void;
  /** Makes `next` the document as one undoable step. */
  commit(next: Recipe, options?: { coalesce?: string }): void;
  /** Commits an edit's result, or shows why it was refused. */
  apply<T extends object>(result: EditResult<T>, options?: { coalesce?: string }): boolean;
  undo(): void;
  redo(): void;
  markSaved(source?: DesignerState["source"]): void;

  setSelection(nodes: string[], edges: string[]): void;
  selectAll(): void;
  setInspect(target: InspectorTarget | null): void;
  focusNode(name: string): void;
  requestFit(): void;

  copySelection(): number;
  pasteClipboard(): string[];
  deleteSelected(): void;
  /** Commits the positions of a finished drag: one undoable step. */
  moveNodes(positions: Record<string, Position>): void;
  layout(sizes?: Record<string, Size>): void;

  setProblems(problems: DiagnosticView[]): void;
  setImportFailure(failure: DesignerState["importFailure"]): void;
  showBanner(banner: Banner | null): void;
  notify(kind: Toast["kind"], text: string): void;
  setThemePreference(p: ThemePreference): void;
  setSystemTheme(t: "light" | "dark"): void;
}

export type Designer = DesignerState & DesignerActions;

const json = (r: Recipe) => JSON.stringify(r);

function pruneSelection(doc: Recipe, sel: DesignerState["selection"]): DesignerState["selection"] {
  return {
    nodes: sel.nodes.filter((n) => n in doc.deployment.nodes),
    edges: sel.edges.filter((id) => {
      const w = parseEdgeId(id);
      return w !== null && w.target in doc.deployment.nodes && w.input in (doc.deployment.nodes[w.target]!.inputs ?? {});
    }),
  };
}

export function createDesignerStore(initial: Recipe = emptyRecipe()): StoreApi<Designer> {
  let toastSeq = 0;
  let focusSeq = 0;
  return createStore<Designer>()((set, get) => ({
    doc: initial,
    source: null,
    savedJson: json(initial),
    past: [],
    future: [],
    coalesceKey: null,
    selection: { nodes: [], edges: [] },
    inspect: null,
    clipboard: null,
    pasteCount: 0,
    problems: [],
    importFailure: null,
    banner: null,
    toast: null,
    focusRequest: null,
    fitRequest: 0,
    themePreference: "system",
    systemTheme: "light",

    load(doc, source = null, options = { saved: true }) {
      set({
        doc,
        source,
        savedJson: options.saved === false ? "" : json(doc),
        past: [],
        future: [],
        coalesceKey: null,
        selection: { nodes: [], edges: [] },
        inspect: null,
        problems: [],
        fitRequest: get().fitRequest + 1,
      });
    },

    commit(next, options = {}) {
      const s = get();
      if (json(next) === json(s.doc)) return;
      const coalesce = options.coalesce ?? null;
      const merge = coalesce !== null && coalesce === s.coalesceKey;
      const past = merge ? s.past : [...s.past, s.doc].slice(-HISTORY_LIMIT);
      set({ doc: next, past, future: [], coalesceKey: coalesce, selection: pruneSelection(next, s.selection) });
    },

    apply(result, options) {
      if (!result.ok) {
        get().notify("error", result.message);
        return false;
      }
      get().commit(result.recipe, options);
      return true;
    },

    undo() {
      const s = get();
      const prev = s.past[s.past.length - 1];
      if (!prev) return;
      set({
        doc: prev,
        past: s.past.slice(0, -1),
        future: [s.doc, ...s.future],
        coalesceKey: null,
        selection: pruneSelection(prev, s.selection),
      });
    },

    redo() {
      const s = get();
      const next = s.future[0];
      if (!next) return;
      set({
        doc: next,
        past: [...s.past, s.doc],
        future: s.future.slice(1),
        coalesceKey: null,
        selection: pruneSelection(next, s.selection),
      });
    },

    markSaved(source) {
      set({ savedJson: json(get().doc), ...(source !== undefined ? { source } : {}) });
    },

    setSelection(nodes, edges) {
      const s = get().selection;
      if (same(s.nodes, nodes) && same(s.edges, edges)) return;
      set({ selection: { nodes, edges }, inspect: null });
    },

    selectAll() {
      set({ selection: { nodes: Object.keys(get().doc.deployment.nodes), edges: [] }, inspect: null });
    },

    setInspect(target) {
      set({ inspect: target });
    },

    focusNode(name) {
      if (!(name in get().doc.deployment.nodes)) return;
      set({ selection: { nodes: [name], edges: [] }, inspect: null, focusRequest: { node: name, seq: ++focusSeq } });
    },

    requestFit() {
      set({ fitRequest: get().fitRequest + 1 });
    },

    copySelection() {
      const s = get();
      const clip = copyNodes(s.doc, s.selection.nodes);
      if (!clip) return 0;
      set({ clipboard: clip, pasteCount: 0 });
      return Object.keys(clip.nodes).length;
    },

    pasteClipboard() {
      const s = get();
      if (!s.clipboard) return [];
      const step = 40 * (s.pasteCount + 1);
      const result = paste(s.doc, s.clipboard, { x: step, y: step });
      if (!result.ok) return [];
      get().commit(result.recipe);
      set({ pasteCount: s.pasteCount + 1, selection: { nodes: result.names, edges: [] } });
      return result.names;
    },

    deleteSelected() {
      const s = get();
      const wires = s.selection.edges.map(parseEdgeId).filter((w) => w !== null);
      if (s.selection.nodes.length === 0 && wires.length === 0) return;
      get().commit(deleteSelection(s.doc, { nodes: s.selection.nodes, wires }));
      set({ selection: { nodes: [], edges: [] } });
    },

    moveNodes(positions) {
      get().commit(moveNodes(get().doc, positions));
    },

    layout(sizes) {
      const s = get();
      const positions = autoLayout(s.doc, sizes ? { sizes } : {});
      get().commit(moveNodes(s.doc, positions));
      set({ fitRequest: get().fitRequest + 1 });
    },

    setProblems(problems) {
      set({ problems });
    },

    setImportFailure(importFailure) {
      set({ importFailure });
    },

    showBanner(banner) {
      set({ banner });
    },

    notify(kind, text) {
      set({ toast: { kind, text, seq: ++toastSeq } });
    },

    setThemePreference(themePreference) {
      set({ themePreference });
    },

    setSystemTheme(systemTheme) {
      set({ systemTheme });
    },
  }));
}

/** Same members, in any order. */
function same(a: string[], b: string[]) {
  return a.length === b.length && a.every((x) => b.includes(x));
}

/** The app's one store. */
export const designer = createDesignerStore();

export function useDesigner<T>(selector: (s: Designer) => T): T {
  return useStore(designer, selector);
}

export const isDirty = (s: DesignerState) => json(s.doc) !== s.savedJson;
export const resolvedTheme = (s: DesignerState) =>
  s.themePreference === "system" ? s.systemTheme : s.themePreference;
