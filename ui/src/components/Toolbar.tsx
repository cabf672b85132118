// The toolbar: the open deployment, undo/redo, layout, view, import/export, clouds, save, theme,
// shortcuts, help.

import { exportFile, importFile } from "../actions";
import { designer, isDirty, useDesigner, type ThemePreference } from "../store";
import { tooltip } from "../shortcuts";
import { Icon, type IconName } from "./Icon";
import { measured } from "./Canvas";

function ToolButton(props: { icon: IconName; label: string; title: string; onClick: () => void; disabled?: boolean; testId: string; primary?: boolean; showLabel?: boolean }) {
  return (
    <button
      className={`sw-tool${props.primary ? " is-primary" : ""}`}
      onClick={props.onClick}
      disabled={props.disabled}
      title={props.title}
      aria-label={props.label}
      data-testid={props.testId}
    >
      <Icon name={props.icon} />
      {props.showLabel ? <span>{props.label}</span> : null}
    </button>
  );
}

const NEXT_THEME: Record<ThemePreference, ThemePreference> = { system: "light", light: "dark", dark: "system" };
const THEME_ICON: Record<ThemePreference, IconName> = { system: "monitor", light: "sun", dark: "moon" };

export function Toolbar(props: { onSave: () => void; onShortcuts: () => void; onHelp: () => void; onClouds: () => void; onLaunch: () => void; onRuns: () => void }) {
  const name = useDesigner((s) => s.doc.name);
  const source = useDesigner((s) => s.source);
  const dirty = useDesigner(isDirty);
  const canUndo = useDesigner((s) => s.past.length > 0);
  const canRedo = useDesigner((s) => s.future.length > 0);
  const hasNodes = useDesigner((s) => Object.keys(s.doc.deployment.nodes).length > 0);
  const theme = useDesigner((s) => s.themePreference);
  const problems = useDesigner((s) => s.problems);
  const errors = problems.filter((p) => p.severity === "error");
  const whyNot = !hasNodes
    ? "Nothing to launch: the deployment has no node"
    : errors.length > 0
      ? `Cannot launch: ${errors.length} problem${errors.length === 1 ? "" : "s"} (${errors[0]!.message})`
      : null;
  const s = designer.getState;

  return (
    <header className="sw-toolbar" data-testid="toolbar">
      <div className="sw-brand" aria-label="Slipway">
        <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden>
          <rect x="2" y="2" width="20" height="20" rx="6" fill="var(--accent)" />
          <path d="M7 15.5c2.5 0 2.5-7 5-7s2.5 7 5 7" fill="none" stroke="white" strokeWidth="2" strokeLinecap="round" />
        </svg>
        <span>Slipway</span>
      </div>
      <div className="sw-doc" data-testid="toolbar-document">
        <button className="sw-doc__name" onClick={() => s().setInspect({ kind: "deployment" })} title="Deployment properties">
          {name}
        </button>
        {source?.version ? <span className="sw-doc__version">v{source.version}</span> : null}
        {dirty ? (
          <span className="sw-doc__dirty" data-testid="toolbar-dirty" title="Unsaved changes">
            ● edited
          </span>
        ) : null}
      </div>
      <div className="sw-toolbar__group">
        <ToolButton icon="undo" label="Undo" title={tooltip("undo")} onClick={() => s().undo()} disabled={!canUndo} testId="btn-undo" />
        <ToolButton icon="redo" label="Redo" title={tooltip("redo")} onClick={() => s().redo()} disabled={!canRedo} testId="btn-redo" />
      </div>
      <div className="sw-toolbar__group">
        <ToolButton icon="layout" label="Auto-layout" title={tooltip("layout")} onClick={() => s().layout(measured.sizes())} disabled={!hasNodes} testId="btn-layout" />
        <ToolButton icon="fit" label="Fit view" title={tooltip("fit")} onClick={() => s().requestFit()} testId="btn-fit" />
      </div>
      <div className="sw-toolbar__spacer" />
      <div className="sw-toolbar__group">
        <ToolButton icon="import" label="Import…" title={tooltip("import", "Import a recipe file…")} onClick={() => void importFile()} testId="btn-import" showLabel />
        <ToolButton icon="export" label="Export…" title={tooltip("export", "Export a recipe file…")} onClick={() => void exportFile()} testId="btn-export" showLabel />
      </div>
      <ToolButton icon="history" label="Runs" title="Runs: every run from the app and the CLI" onClick={props.onRuns} testId="btn-runs" showLabel />
      <ToolButton icon="server" label="Clouds" title="Clouds: add, enter credentials, test" onClick={props.onClouds} testId="btn-clouds" showLabel />
      <ToolButton icon="save" label="Save" title={tooltip("save", "Save a new version")} onClick={props.onSave} testId="btn-save" showLabel />
      <button
        className={`sw-tool is-primary${whyNot ? " is-blocked" : ""}`}
        onClick={() => (whyNot ? window.dispatchEvent(new CustomEvent("slipway:show-problems")) : props.onLaunch())}
        aria-disabled={whyNot !== null}
        title={whyNot ?? "Launch: choose clouds, see the plan, launch"}
        aria-label="Launch"
        data-testid="btn-launch"
      >
        <Icon name="play" />
        <span>Launch</span>
      </button>
      <div className="sw-toolbar__group sw-toolbar__group--quiet">
        <ToolButton
          icon={THEME_ICON[theme]}
          label="Theme"
          title={`Theme: ${theme === "system" ? "follows the system" : theme} (click to change)`}
          onClick={() => s().setThemePreference(NEXT_THEME[theme])}
          testId="btn-theme"
        />
        <ToolButton icon="keyboard" label="Keyboard shortcuts" title={tooltip("shortcuts", "Keyboard shortcuts")} onClick={props.onShortcuts} testId="btn-shortcuts" />
        <ToolButton icon="info" label="Help" title={tooltip("help", "Help: the recipe format reference")} onClick={props.onHelp} testId="btn-help" />
      </div>
    </header>
  );
}
