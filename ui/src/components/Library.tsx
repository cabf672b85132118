// The library sidebar: images, components and deployments from the store, searchable, draggable
// onto the canvas, each with its version history.

import { useCallback, useEffect, useState, type DragEvent } from "react";
import * as api from "../api";
import type { ModuleKind, ModuleSummary } from "../api-types";
import { openDeployment } from "../actions";
import { designer, useDesigner } from "../store";
import { MODULE_MIME } from "./Canvas";
import { HistoryDialog } from "./HistoryDialog";
import { Icon, type IconName } from "./Icon";

const SECTIONS: { kind: ModuleKind; title: string; icon: IconName; hint: string }[] = [
  { kind: "image", title: "Images", icon: "image", hint: "Drop to add a bare machine" },
  { kind: "component", title: "Components", icon: "component", hint: "Drop to add a node" },
  { kind: "deployment", title: "Deployments", icon: "deployment", hint: "Double-click to open" },
];

function relative(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} d ago`;
  return new Date(t).toLocaleDateString();
}

export function Library() {
  const [query, setQuery] = useState("");
  const [items, setItems] = useState<ModuleSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [collapsed, setCollapsed] = useState<Partial<Record<ModuleKind, boolean>>>({});
  const [history, setHistory] = useState<{ kind: ModuleKind; name: string } | null>(null);
  const openName = useDesigner((s) => s.source?.name ?? null);

  const refresh = useCallback(async (q: string) => {
    try {
      const list = await api.libraryList(q.trim() ? { query: q.trim() } : {});
      setItems(list);
      setError(null);
    } catch (e) {
      setError(api.toCommandError(e).message);
    }
  }, []);

  useEffect(() => {
    const t = setTimeout(() => void refresh(query), query ? 150 : 0);
    return () => clearTimeout(t);
  }, [query, refresh]);

  useEffect(() => {
    const on = () => void refresh(query);
    window.addEventListener("slipway:library-changed", on);
    return () => window.removeEventListener("slipway:library-changed", on);
  }, [query, refresh]);

  const onDragStart = (e: DragEvent, item: ModuleSummary) => {
    e.dataTransfer.setData(MODULE_MIME, JSON.stringify({ kind: item.kind, name: item.name }));
    e.dataTransfer.setData("text/plain", item.name);
    e.dataTransfer.effectAllowed = "copy";
  };

  const onActivate = (item: ModuleSummary) => {
    if (item.kind === "deployment") void openDeployment(item.name);
    else if (item.kind === "component" && designer.getState().doc.components?.[item.name]) {
      designer.getState().setInspect({ kind: "component", name: item.name });
    } else if (item.kind === "image" && designer.getState().doc.images?.[item.name]) {
      designer.getState().setInspect({ kind: "image", name: item.name });
    }
  };

  return (
    <aside className="sw-library" aria-label="Library" data-testid="library">
      <div className="sw-panel-title">
        <span>Library</span>
      </div>
      <label className="sw-search">
        <Icon name="search" />
        <input
          type="search"
          placeholder="Search modules"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="library-search"
          aria-label="Search the library"
        />
      </label>
      {error ? (
        <div className="sw-library__error" data-testid="library-error">
          {error}
        </div>
      ) : null}
      <div className="sw-library__sections">
        {SECTIONS.map((section) => {
          const list = (items ?? []).filter((i) => i.kind === section.kind);
          const isCollapsed = collapsed[section.kind] ?? false;
          return (
            <section key={section.kind} className="sw-library__section" data-testid={`library-section-${section.kind}`}>
              <button
                className="sw-library__heading"
                onClick={() => setCollapsed({ ...collapsed, [section.kind]: !isCollapsed })}
                aria-expanded={!isCollapsed}
              >
                <Icon name="chevron" className={`sw-chevron${isCollapsed ? "" : " is-open"}`} size={14} />
                <span>{section.title}</span>
                <span className="sw-count">{items ? list.length : "…"}</span>
              </button>
              {!isCollapsed ? (
                <ul className="sw-library__list">
                  {items && list.length === 0 ? (
                    <li className="sw-library__empty">{query ? "No match" : "None yet"}</li>
                  ) : null}
                  {list.map((item) => (
                    <li
                      key={item.name}
                      className={`sw-library__item${item.kind === "deployment" && item.name === openName ? " is-open" : ""}`}
                      draggable
                      onDragStart={(e) => onDragStart(e, item)}
                      onDoubleClick={() => onActivate(item)}
                      onKeyDown={(e) => e.key === "Enter" && onActivate(item)}
                      tabIndex={0}
                      title={`${item.description ?? item.name}\n${section.hint}`}
                      data-testid={`library-item-${item.kind}-${item.name}`}
                    >
                      <span className={`sw-library__icon sw-kind-${item.kind}`}>
                        <Icon name={section.icon} size={14} />
                      </span>
                      <span className="sw-library__text">
                        <span className="sw-library__name">{item.name}</span>
                        {item.description ? <span className="sw-library__desc">{item.description}</span> : null}
                      </span>
                      <button
                        className="sw-library__version"
                        title={`Version ${item.latest_version}, updated ${relative(item.updated_at)} — show history`}
                        onClick={(e) => {
                          e.stopPropagation();
                          setHistory({ kind: item.kind, name: item.name });
                        }}
                        data-testid={`library-history-${item.kind}-${item.name}`}
                      >
                        v{item.latest_version}
                      </button>
                    </li>
                  ))}
                </ul>
              ) : null}
            </section>
          );
        })}
      </div>
      <p className="sw-library__tip">Drag items onto the canvas</p>
      {history ? (
        <HistoryDialog
          kind={history.kind}
          name={history.name}
          onClose={() => setHistory(null)}
          onRestored={() => void refresh(query)}
        />
      ) : null}
    </aside>
  );
}
