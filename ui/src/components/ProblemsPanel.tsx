// The Problems panel: the Rust validator's results (the same as `slipway validate`), or the
// problems of a recipe file that failed to import. Clicking one shows what it is about.

import { useEffect, useState } from "react";
import type { DiagnosticView } from "../bindings/recipe";
import { targetOfPath } from "../model/paths";
import { designer, useDesigner } from "../store";
import { fileName } from "../actions";
import { Icon } from "./Icon";
import { Rich } from "./Rich";

function reveal(p: DiagnosticView) {
  const s = designer.getState();
  const target = targetOfPath(p.path);
  if (target.kind === "node" && target.name in s.doc.deployment.nodes) s.focusNode(target.name);
  else if (target.kind === "component" && s.doc.components?.[target.name]) s.setInspect({ kind: "component", name: target.name });
  else if (target.kind === "image" && s.doc.images?.[target.name]) s.setInspect({ kind: "image", name: target.name });
  else s.setInspect({ kind: "deployment" });
}

function where(p: DiagnosticView): string {
  const t = targetOfPath(p.path);
  const at = p.line !== null ? ` · ${p.line}:${p.column ?? 1}` : "";
  return t.kind === "deployment" ? `deployment${at}` : `${t.kind} ${t.name}${at}`;
}

export function ProblemsPanel() {
  const problems = useDesigner((s) => s.problems);
  const importFailure = useDesigner((s) => s.importFailure);
  const [open, setOpen] = useState(true);
  // Launch, clicked while the deployment has problems, opens the panel.
  useEffect(() => {
    const show = () => setOpen(true);
    window.addEventListener("slipway:show-problems", show);
    return () => window.removeEventListener("slipway:show-problems", show);
  }, []);
  const shown = importFailure ? importFailure.problems : problems;
  const errors = shown.filter((p) => p.severity === "error").length;
  const warnings = shown.length - errors;

  return (
    <section className={`sw-problems${open ? " is-open" : ""}`} aria-label="Problems" data-testid="problems-panel">
      <header className="sw-problems__header">
        <button className="sw-problems__toggle" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="problems-toggle">
          <Icon name="chevron" size={14} className={`sw-chevron${open ? " is-open-up" : ""}`} />
          <span className="sw-problems__title">{importFailure ? `Problems in ${fileName(importFailure.path)}` : "Problems"}</span>
          <span className={`sw-pill${errors ? " is-error" : ""}`} data-testid="problems-errors">
            {errors} error{errors === 1 ? "" : "s"}
          </span>
          <span className={`sw-pill${warnings ? " is-warning" : ""}`} data-testid="problems-warnings">
            {warnings} warning{warnings === 1 ? "" : "s"}
          </span>
        </button>
        {importFailure ? (
          <button className="sw-link" onClick={() => designer.getState().setImportFailure(null)} data-testid="problems-dismiss-import">
            Back to the open deployment
          </button>
        ) : null}
      </header>
      {open ? (
        <div className="sw-problems__body">
          {shown.length === 0 ? (
            <div className="sw-problems__none" data-testid="problems-none">
              <Icon name="check" /> No problems: the deployment is valid.
            </div>
          ) : (
            <ul className="sw-problems__list">
              {shown.map((p, i) => (
                <li key={`${p.code}-${p.path}-${i}`}>
                  <button
                    className={`sw-problem is-${p.severity}`}
                    onClick={() => (importFailure ? undefined : reveal(p))}
                    data-testid={`problem-${p.code}`}
                    title={p.path}
                  >
                    <Icon name={p.severity === "error" ? "alert" : "info"} className="sw-problem__icon" />
                    <span className="sw-problem__code">{p.code}</span>
                    <span className="sw-problem__message">
                      <Rich text={p.message} />
                      {p.hint ? (
                        <span className="sw-problem__hint">
                          {" — "}
                          <Rich text={p.hint} />
                        </span>
                      ) : null}
                    </span>
                    <span className="sw-problem__where">
                      {where(p)}
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
    </section>
  );
}
