// Keyboard shortcuts: declared once, used by the key handler, the tooltips and the shortcuts list.

export type CommandId =
  | "undo"
  | "redo"
  | "delete"
  | "copy"
  | "paste"
  | "selectAll"
  | "save"
  | "import"
  | "export"
  | "layout"
  | "fit"
  | "shortcuts"
  | "help";

export interface Shortcut {
  id: CommandId;
  label: string;
  /** Key combinations as shown, `Mod` being Ctrl (⌘ on macOS). */
  keys: string[];
}

export const SHORTCUTS: Shortcut[] = [
  { id: "undo", label: "Undo", keys: ["Mod+Z"] },
  { id: "redo", label: "Redo", keys: ["Mod+Shift+Z", "Mod+Y"] },
  { id: "delete", label: "Delete the selection", keys: ["Delete", "Backspace"] },
  { id: "copy", label: "Copy nodes", keys: ["Mod+C"] },
  { id: "paste", label: "Paste nodes", keys: ["Mod+V"] },
  { id: "selectAll", label: "Select all nodes", keys: ["Mod+A"] },
  { id: "save", label: "Save the deployment", keys: ["Mod+S"] },
  { id: "import", label: "Import a recipe file", keys: ["Mod+O"] },
  { id: "export", label: "Export a recipe file", keys: ["Mod+E"] },
  { id: "layout", label: "Auto-layout", keys: ["Shift+L"] },
  { id: "fit", label: "Fit the view", keys: ["Shift+1"] },
  { id: "shortcuts", label: "Show the shortcuts", keys: ["?"] },
  { id: "help", label: "Recipe format reference", keys: ["F1"] },
];

export const isMac = () => typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform);

export function showKeys(keys: string): string {
  return keys.replace("Mod", isMac() ? "⌘" : "Ctrl");
}

export function tooltip(id: CommandId, label?: string): string {
  const s = SHORTCUTS.find((x) => x.id === id)!;
  return `${label ?? s.label} (${s.keys.map(showKeys).join(" or ")})`;
}

/** Which command a key event asks for, or null. Pure: testable without a DOM. */
export function commandOf(e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "metaKey" | "shiftKey" | "altKey">): CommandId | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.toLowerCase();
  if (e.altKey) return null;
  if (e.key === "F1" && !mod && !e.shiftKey) return "help";
  if (mod) {
    if (key === "z") return e.shiftKey ? "redo" : "undo";
    if (key === "y") return "redo";
    if (e.shiftKey) return null;
    if (key === "c") return "copy";
    if (key === "v") return "paste";
    if (key === "a") return "selectAll";
    if (key === "s") return "save";
    if (key === "o") return "import";
    if (key === "e") return "export";
    return null;
  }
  if (e.key === "Delete" || e.key === "Backspace") return "delete";
  if (e.shiftKey && e.code === "KeyL") return "layout";
  if (e.shiftKey && e.code === "Digit1") return "fit";
  if (e.key === "?") return "shortcuts";
  return null;
}

/** Commands that work even while typing in a field (they are never text editing). */
export const GLOBAL_COMMANDS: CommandId[] = ["save", "import", "export", "help"];
