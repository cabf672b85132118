// The designer window: toolbar on top; library, canvas (with problems below) and inspector.
// Wires global concerns: keyboard shortcuts, the OS theme, validation, the file given at start.

import { useEffect, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { exportFile, importFile, openInitialFile, startValidation } from "./actions";
import { designer, isDirty, resolvedTheme, useDesigner } from "./store";
import { commandOf, GLOBAL_COMMANDS, type CommandId } from "./shortcuts";
import { Toolbar } from "./components/Toolbar";
import { Library } from "./components/Library";
import { Canvas, measured } from "./components/Canvas";
import { Inspector } from "./components/Inspector";
import { ProblemsPanel } from "./components/ProblemsPanel";
import { BannerBar, ToastHost } from "./components/Notices";
import { SaveDialog, ShortcutsDialog } from "./components/Dialogs";
import { HelpDialog } from "./components/HelpDialog";
import { CloudsPage } from "./components/CloudsPage";
import { LaunchDialog } from "./components/LaunchDialog";
import { RunView } from "./components/RunView";
import { RunsPage } from "./components/RunsPage";
import type { Recipe } from "./bindings/recipe";

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.closest(".cm-editor") !== null;
}

export function App() {
  const theme = useDesigner(resolvedTheme);
  const [dialog, setDialog] = useState<"save" | "shortcuts" | "help" | null>(null);
  const [page, setPage] = useState<"designer" | "clouds" | "runs" | { run: string }>("designer");
  // The launch dialog, for the open document or (Re-launch) a run's recipe.
  const [launching, setLaunching] = useState<Recipe | null>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const title = useDesigner((s) => `${isDirty(s) ? "● " : ""}${s.doc.name} — Slipway`);
  useEffect(() => {
    document.title = title;
  }, [title]);

  useEffect(() => {
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    const apply = () => designer.getState().setSystemTheme(mq.matches ? "dark" : "light");
    apply();
    mq.addEventListener("change", apply);
    return () => mq.removeEventListener("change", apply);
  }, []);

  useEffect(() => startValidation(150), []);
  useEffect(() => void openInitialFile(), []);

  useEffect(() => {
    const run = (id: CommandId) => {
      const s = designer.getState();
      switch (id) {
        case "undo": return s.undo();
        case "redo": return s.redo();
        case "delete": return s.deleteSelected();
        case "copy": {
          const n = s.copySelection();
          if (n) s.notify("info", `Copied ${n} node${n === 1 ? "" : "s"}`);
          return;
        }
        case "paste": return void s.pasteClipboard();
        case "selectAll": return s.selectAll();
        case "save": return setDialog("save");
        case "import": return void importFile();
        case "export": return void exportFile();
        case "layout": return s.layout(measured.sizes());
        case "fit": return s.requestFit();
        case "shortcuts": return setDialog("shortcuts");
        case "help": return setDialog("help");
      }
    };
    const onKey = (e: KeyboardEvent) => {
      const id = commandOf(e);
      if (!id) return;
      if (isTyping(e.target) && !GLOBAL_COMMANDS.includes(id)) return;
      if (document.querySelector(".sw-overlay") && id !== "save") return;
      e.preventDefault();
      run(id);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  return (
    <ReactFlowProvider>
      <div className="sw-app">
        <Toolbar onSave={() => setDialog("save")} onShortcuts={() => setDialog("shortcuts")} onHelp={() => setDialog("help")} onClouds={() => setPage("clouds")}
          onLaunch={() => setLaunching(designer.getState().doc)}
          onRuns={() => setPage("runs")}
        />
        <Library />
        <main className="sw-main">
          <BannerBar />
          <Canvas />
          <ProblemsPanel />
        </main>
        <Inspector />
        <ToastHost />
        {page === "clouds" ? <CloudsPage onClose={() => setPage("designer")} /> : null}
        {page === "runs" ? <RunsPage onClose={() => setPage("designer")} onOpen={(id) => setPage({ run: id })} /> : null}
        {typeof page === "object" ? (
          <RunView key={page.run} runId={page.run} onClose={() => setPage("runs")} onRelaunch={(r) => setLaunching(r)} />
        ) : null}
        {launching ? (
          <LaunchDialog
            recipe={launching}
            onClose={() => setLaunching(null)}
            onLaunched={(id) => {
              setLaunching(null);
              if (launching === designer.getState().doc) designer.getState().markSaved();
              window.dispatchEvent(new CustomEvent("slipway:library-changed"));
              setPage({ run: id });
            }}
          />
        ) : null}
        {dialog === "save" ? <SaveDialog onClose={() => setDialog(null)} /> : null}
        {dialog === "shortcuts" ? <ShortcutsDialog onClose={() => setDialog(null)} /> : null}
        {dialog === "help" ? <HelpDialog onClose={() => setDialog(null)} /> : null}
      </div>
    </ReactFlowProvider>
  );
}
