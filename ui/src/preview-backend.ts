// PREVIEW ONLY — a stand-in for the Rust side when the UI runs in a plain browser (`npm run dev`
// outside Tauri), for visual work and screenshots. Never used inside Tauri, never used by tests.
// It serves the example recipes from ../assets/examples from memory and validates nothing.

import { parse, stringify } from "yaml";
import type { Component, DiagnosticView, Image, Recipe } from "./bindings/recipe";
import type {
  DeploymentBody,
  DiffChunk,
  ImportResult,
  ModuleBody,
  ModuleKind,
  ModuleSummary,
  ModuleVersion,
  VersionInfo,
} from "./api-types";

import hello from "../../assets/examples/hello.slipway.yaml?raw";
import multiline from "../../assets/examples/multiline-outputs.slipway.yaml?raw";
import webWithDb from "../../assets/examples/web-with-db.slipway.yaml?raw";

const FILES: Record<string, string> = {
  "hello.slipway.yaml": hello,
  "multiline-outputs.slipway.yaml": multiline,
  "web-with-db.slipway.yaml": webWithDb,
};

interface Stored {
  body: ModuleBody;
  comment: string | null;
  created_at: string;
}

const store = new Map<string, Stored[]>();
const key = (kind: ModuleKind, name: string) => `${kind}/${name}`;
let clock = Date.parse("2026-11-20T09:00:00Z");
const tick = () => new Date((clock += 37 * 60_000)).toISOString();

function put(kind: ModuleKind, name: string, body: ModuleBody, comment: string | null): number {
  const versions = store.get(key(kind, name)) ?? [];
  const last = versions[versions.length - 1];
  if (last && JSON.stringify(last.body) === JSON.stringify(body)) return versions.length;
  versions.push({ body: structuredClone(body), comment, created_at: tick() });
  store.set(key(kind, name), versions);
  return versions.length;
}

function storeRecipe(recipe: Recipe, comment: string | null): number {
  for (const [name, image] of Object.entries(recipe.images ?? {})) put("image", name, image, comment);
  for (const [name, c] of Object.entries(recipe.components ?? {})) put("component", name, c, comment);
  const body: DeploymentBody = {
    description: recipe.description ?? null,
    deployment: recipe.deployment,
    layout: recipe.layout ?? {},
  };
  return put("deployment", recipe.name, body, comment);
}

for (const text of Object.values(FILES)) storeRecipe(parse(text) as Recipe, "imported from the examples");

function latest(kind: ModuleKind, name: string, version?: number): ModuleVersion {
  const versions = store.get(key(kind, name));
  const v = version ?? versions?.length ?? 0;
  const stored = versions?.[v - 1];
  if (!stored) throw { code: "not-found", message: `there is no ${kind} \`${name}\`${version ? ` version ${version}` : ""}` };
  return { kind, name, version: v, body: structuredClone(stored.body) };
}

function describe(body: ModuleBody): string | null {
  return (body as { description?: string | null }).description ?? null;
}

function openDeployment(name: string, version?: number): Recipe {
  const d = latest("deployment", name, version).body as DeploymentBody;
  const recipe: Recipe = { slipway: 1, name, deployment: d.deployment };
  if (d.description) recipe.description = d.description;
  const components: Record<string, Component> = {};
  const images: Record<string, Image> = {};
  for (const node of Object.values(d.deployment.nodes)) {
    if (components[node.component]) continue;
    try {
      const c = latest("component", node.component).body as Component;
      components[node.component] = c;
      const imageName = c.image.split("@")[0]!;
      const pinned = c.image.split("@")[1];
      images[imageName] ??= latest("image", imageName, pinned ? Number(pinned) : undefined).body as Image;
    } catch {
      /* a missing module shows up as a problem in the real validator */
    }
  }
  recipe.images = images;
  recipe.components = components;
  if (d.layout && Object.keys(d.layout).length > 0) recipe.layout = d.layout;
  return recipe;
}

function lineDiff(a: string, b: string): DiffChunk[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffChunk[] = [];
  const push = (tag: DiffChunk["tag"], text: string) => {
    const last = out[out.length - 1];
    if (last && last.tag === tag) last.text += text;
    else out.push({ tag, text });
  };
  let i = 0;
  let j = 0;
  while (i < x.length && j < y.length) {
    if (x[i] === y[j]) push("equal", `${x[i++]}\n`), j++;
    else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) push("delete", `${x[i++]}\n`);
    else push("insert", `${y[j++]}\n`);
  }
  while (i < x.length) push("delete", `${x[i++]}\n`);
  while (j < y.length) push("insert", `${y[j++]}\n`);
  return out;
}

type Args = Record<string, unknown>;

export async function previewInvoke<T>(command: string, args: Args = {}): Promise<T> {
  await new Promise((r) => setTimeout(r, 20));
  return handle(command, args) as T;
}

function handle(command: string, a: Args): unknown {
  const kind = a.kind as ModuleKind;
  const name = a.name as string;
  switch (command) {
    case "library_list": {
      const q = ((a.query as string | undefined) ?? "").toLowerCase();
      const out: ModuleSummary[] = [];
      for (const [k, versions] of store) {
        const [kk, n] = k.split("/") as [ModuleKind, string];
        if (a.kind && kk !== a.kind) continue;
        const last = versions[versions.length - 1]!;
        const description = describe(last.body);
        if (q && !n.includes(q) && !(description ?? "").toLowerCase().includes(q)) continue;
        out.push({ kind: kk, name: n, latest_version: versions.length, description, updated_at: last.created_at });
      }
      return out.sort((x, y) => x.name.localeCompare(y.name));
    }
    case "library_get":
      return latest(kind, name, a.version as number | undefined);
    case "library_save":
      return put(kind, name, a.body as ModuleBody, (a.comment as string | undefined) ?? null);
    case "library_history": {
      const versions = store.get(key(kind, name)) ?? [];
      const out: VersionInfo[] = versions.map((v, i) => ({ version: i + 1, comment: v.comment, created_at: v.created_at }));
      return out.reverse();
    }
    case "library_diff": {
      const dump = (v: number) => stringify(latest(kind, name, v).body);
      return lineDiff(dump(a.a as number), dump(a.b as number));
    }
    case "library_restore":
      return put(kind, name, latest(kind, name, a.version as number).body, (a.comment as string | undefined) ?? `restored version ${String(a.version)}`);
    case "deployment_open":
      return openDeployment(name, a.version as number | undefined);
    case "deployment_save":
      return storeRecipe(a.recipe as Recipe, (a.comment as string | undefined) ?? null);
    case "recipe_validate":
      // No validation here; `?problems=demo` shows canned problems, to look at the Problems panel.
      return new URLSearchParams(window.location.search).get("problems") === "demo" ? demoProblems(a.recipe as Recipe) : [];
    case "recipe_export":
      console.info(`[preview] export to ${String(a.path)}:\n${stringify(a.recipe)}`);
      return null;
    case "recipe_import": {
      const path = String(a.path);
      const file = Object.keys(FILES).find((f) => path.endsWith(f));
      if (!file) {
        const result: ImportResult = {
          ok: false,
          problems: [{ severity: "error", code: "empty-file", message: `cannot read ${path}`, hint: "the preview knows only the examples", path: "", line: null, column: null }],
        };
        return result;
      }
      const recipe = parse(FILES[file]!) as Recipe;
      storeRecipe(recipe, `imported from ${file}`);
      const result: ImportResult = { ok: true, problems: [], recipe };
      return result;
    }
    case "app_initial_file": {
      const open = new URLSearchParams(window.location.search).get("open");
      return open ? `${open}.slipway.yaml` : null;
    }
    default:
      throw { code: "unknown-command", message: `the preview backend has no command \`${command}\`` };
  }
}

export function previewChooseFile(): string | null {
  const choice = window.prompt(`Preview: import which example?\n${Object.keys(FILES).join("\n")}`, "hello.slipway.yaml");
  return choice ? choice : null;
}

function demoProblems(recipe: Recipe): DiagnosticView[] {
  const out: DiagnosticView[] = [];
  for (const [name, node] of Object.entries(recipe.deployment.nodes)) {
    const c = recipe.components?.[node.component];
    for (const [input, spec] of Object.entries(c?.inputs ?? {})) {
      if (spec.required && !(input in (node.inputs ?? {}))) {
        out.push({
          severity: "error",
          code: "unconnected-input",
          message: `required input \`${input}\` of node \`${name}\` is neither wired nor given`,
          hint: `wire it from another node's output, or give it a value`,
          path: `deployment.nodes.${name}.inputs`,
          line: null,
          column: null,
        });
      }
    }
  }
  out.push({
    severity: "warning",
    code: "redundant-default",
    message: "input `db_port` of node `web` repeats the component's default",
    hint: "remove the value; the default applies",
    path: "deployment.nodes.web.inputs.db_port",
    line: 58,
    column: 18,
  });
  return out;
}
