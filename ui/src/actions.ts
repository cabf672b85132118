// User-level commands that need the backend: open, import, export, save, validate, drop from the
// library. Owns: how api.ts results land in the store (banners, problems, toasts).
// Never: editing rules (model/edits.ts) or drawing.

import * as api from "./api";
import { ApiError } from "./api";
import type { ModuleKind } from "./api-types";
import type { Component, Image, Position, Recipe } from "./bindings/recipe";
import { addNodeFromComponent, addNodeFromImage } from "./model/edits";
import { autoLayout } from "./model/layout";
import { designer, isDirty } from "./store";

const state = () => designer.getState();

function fail(what: string, e: unknown) {
  const err = e instanceof ApiError ? e : new ApiError(api.toCommandError(e));
  state().showBanner({ kind: "error", title: what, detail: `${err.message} (${err.code})` });
}

/** Gives nodes without a position one, so that a document always opens tidy. */
function withLayout(recipe: Recipe): Recipe {
  const names = Object.keys(recipe.deployment.nodes);
  if (names.every((n) => recipe.layout?.[n])) return recipe;
  return { ...recipe, layout: { ...(recipe.layout ?? {}), ...autoLayout(recipe) } };
}

async function confirmDiscard(): Promise<boolean> {
  if (!isDirty(state()) || Object.keys(state().doc.deployment.nodes).length === 0) return true;
  return api.confirmDialog(`“${state().doc.name}” has unsaved changes. Discard them?`);
}

export async function openDeployment(name: string, version?: number) {
  if (!(await confirmDiscard())) return;
  try {
    const recipe = await api.deploymentOpen(version === undefined ? { name } : { name, version });
    state().load(withLayout(recipe), { name, version: version ?? null });
    state().showBanner(null);
    state().setImportFailure(null);
  } catch (e) {
    fail(`Could not open deployment “${name}”`, e);
  }
}

/** Imports a recipe file: on success it becomes the document; when invalid, nothing changes. */
export async function importFile(path?: string, options: { quiet?: boolean } = {}) {
  try {
    const chosen = path ?? (await api.chooseRecipeToImport());
    if (!chosen) return;
    const result = await api.recipeImport({ path: chosen });
    if (!result.ok || !result.recipe) {
      state().setImportFailure({ path: chosen, problems: result.problems });
      const n = result.problems.length;
      state().showBanner({
        kind: "error",
        title: `${fileName(chosen)} was not imported`,
        detail: `It has ${n} problem${n === 1 ? "" : "s"}, listed in the Problems panel. Nothing was changed.`,
      });
      return;
    }
    if (!path && !(await confirmDiscard())) return;
    state().load(withLayout(result.recipe), { name: result.recipe.name, version: null });
    state().setImportFailure(null);
    state().showBanner(null);
    if (!options.quiet) state().notify("success", `Imported ${fileName(chosen)}`);
    window.dispatchEvent(new CustomEvent("slipway:library-changed"));
  } catch (e) {
    fail("Import failed", e);
  }
}

export async function exportFile() {
  const doc = state().doc;
  try {
    const path = await api.chooseExportPath(doc.name);
    if (!path) return;
    await api.recipeExport({ recipe: doc, path });
    state().notify("success", `Exported to ${fileName(path)}`);
  } catch (e) {
    fail("Export failed", e);
  }
}

export async function saveDeployment(comment?: string) {
  const doc = state().doc;
  try {
    const version = await api.deploymentSave(comment ? { recipe: doc, comment } : { recipe: doc });
    state().markSaved({ name: doc.name, version });
    state().notify("success", `Saved ${doc.name} as version ${version}`);
    window.dispatchEvent(new CustomEvent("slipway:library-changed"));
  } catch (e) {
    fail(`Could not save “${doc.name}”`, e);
  }
}

export async function saveModule(kind: "component" | "image", name: string, body: Component | Image, comment?: string) {
  try {
    const version = await api.librarySave(comment ? { kind, name, body, comment } : { kind, name, body });
    state().notify("success", `Saved ${kind} ${name} as version ${version}`);
    window.dispatchEvent(new CustomEvent("slipway:library-changed"));
    return version;
  } catch (e) {
    fail(`Could not save ${kind} “${name}”`, e);
    return null;
  }
}

/** A library item dropped on the canvas at `position` (flow coordinates). */
export async function dropModule(kind: ModuleKind, name: string, position: Position) {
  try {
    if (kind === "deployment") {
      await openDeployment(name);
      return;
    }
    const doc = state().doc;
    if (kind === "image") {
      const body = doc.images?.[name] ?? ((await api.libraryGet({ kind, name })).body as Image);
      const r = addNodeFromImage(state().doc, { image: name, body, position });
      if (state().apply(r) && r.ok) state().setSelection([r.name], []);
      return;
    }
    let definition: Component | undefined = doc.components?.[name];
    let image: { name: string; body: Image } | undefined;
    if (!definition) {
      definition = (await api.libraryGet({ kind, name })).body as Component;
      const [imageName, pinned] = definition.image.split("@") as [string, string | undefined];
      if (!state().doc.images?.[imageName]) {
        const got = await api.libraryGet(
          pinned ? { kind: "image", name: imageName, version: Number(pinned) } : { kind: "image", name: imageName },
        );
        image = { name: imageName, body: got.body as Image };
      }
    }
    const r = addNodeFromComponent(state().doc, { component: name, definition, ...(image ? { image } : {}), position });
    if (state().apply(r) && r.ok) state().setSelection([r.name], []);
  } catch (e) {
    fail(`Could not add ${kind} “${name}”`, e);
  }
}

const VALIDATION_DOWN = "Validation is unavailable.";

/** Validates the document with the Rust validator, debounced, after every change. */
export function startValidation(delayMs = 150): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latest = 0;
  const run = (doc: Recipe) => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const ticket = ++latest;
      try {
        const problems = await api.recipeValidate({ recipe: doc });
        if (ticket === latest && state().doc === doc) state().setProblems(problems);
        if (state().banner?.title === VALIDATION_DOWN) state().showBanner(null);
      } catch (e) {
        // Said once, in the banner, rather than a toast after every edit.
        const err = api.toCommandError(e);
        if (ticket === latest) state().showBanner({ kind: "warning", title: VALIDATION_DOWN, detail: `${err.message} (${err.code})` });
      }
    }, delayMs);
  };
  run(state().doc);
  const unsubscribe = designer.subscribe((s, prev) => {
    if (s.doc !== prev.doc) run(s.doc);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}

let initialFileOpened = false;

/** Opens the file given on the command line, if any (once per app start). */
export async function openInitialFile() {
  if (initialFileOpened) return;
  initialFileOpened = true;
  try {
    const path = await api.appInitialFile();
    if (path) await importFile(path, { quiet: true });
  } catch (e) {
    fail("Could not open the file given at start", e);
  }
}

export function fileName(path: string) {
  return path.split(/[\\/]/).pop() ?? path;
}
