// Where a problem points: the dotted model path of a DiagnosticView, read as a target in the designer.
// Owns: path → node / component / image. Never: React or the store.

export type ProblemTarget =
  | { kind: "node"; name: string }
  | { kind: "component"; name: string }
  | { kind: "image"; name: string }
  | { kind: "deployment" };

/** `deployment.nodes.web.inputs.db_host` → `web`; `layout.web` → `web`. */
export function nodeOfPath(path: string): string | null {
  const parts = path.split(".");
  if (parts[0] === "deployment" && parts[1] === "nodes" && parts[2]) return parts[2];
  if (parts[0] === "layout" && parts[1]) return parts[1];
  return null;
}

/** `components.web.recipes.deployment` → `web`. */
export function componentOfPath(path: string): string | null {
  const parts = path.split(".");
  return parts[0] === "components" && parts[1] ? parts[1] : null;
}

export function imageOfPath(path: string): string | null {
  const parts = path.split(".");
  return parts[0] === "images" && parts[1] ? parts[1] : null;
}

export function targetOfPath(path: string): ProblemTarget {
  const node = nodeOfPath(path);
  if (node) return { kind: "node", name: node };
  const component = componentOfPath(path);
  if (component) return { kind: "component", name: component };
  const image = imageOfPath(path);
  if (image) return { kind: "image", name: image };
  return { kind: "deployment" };
}
