// Version history of one library module: every version with its comment, a diff against the
// latest, restore (a new version), and for deployments opening an older version.

import { useEffect, useState } from "react";
import * as api from "../api";
import type { DiffChunk, ModuleKind, VersionInfo } from "../api-types";
import { openDeployment } from "../actions";
import { designer } from "../store";
import { Dialog } from "./Dialog";

export function HistoryDialog(props: { kind: ModuleKind; name: string; onClose: () => void; onRestored: () => void }) {
  const { kind, name } = props;
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [picked, setPicked] = useState<number | null>(null);
  const [diff, setDiff] = useState<DiffChunk[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const latest = versions?.[0]?.version ?? null;

  const load = async () => {
    try {
      const list = await api.libraryHistory({ kind, name });
      list.sort((a, b) => b.version - a.version);
      setVersions(list);
      setPicked((p) => p ?? list[1]?.version ?? list[0]?.version ?? null);
    } catch (e) {
      setError(api.toCommandError(e).message);
    }
  };
  useEffect(() => {
    void load();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [kind, name]);

  useEffect(() => {
    if (picked === null || latest === null) return;
    setDiff(null);
    api
      .libraryDiff({ kind, name, a: picked, b: latest })
      .then(setDiff)
      .catch((e: unknown) => setError(api.toCommandError(e).message));
  }, [kind, name, picked, latest]);

  const restore = async () => {
    if (picked === null) return;
    try {
      const v = await api.libraryRestore({ kind, name, version: picked, comment: `restored version ${picked}` });
      designer.getState().notify("success", `Restored ${name} version ${picked} as version ${v}`);
      props.onRestored();
      setPicked(null);
      await load();
    } catch (e) {
      setError(api.toCommandError(e).message);
    }
  };

  return (
    <Dialog
      title={
        <>
          History of <code>{name}</code> <span className="sw-muted">({kind})</span>
        </>
      }
      onClose={props.onClose}
      wide
      testId="history-dialog"
      footer={
        <>
          {kind === "deployment" && picked !== null ? (
            <button
              className="sw-btn"
              onClick={() => {
                props.onClose();
                void openDeployment(name, picked);
              }}
            >
              Open version {picked}
            </button>
          ) : null}
          <button
            className="sw-btn sw-btn--primary"
            disabled={picked === null || picked === latest}
            onClick={() => void restore()}
            data-testid="history-restore"
          >
            Restore version {picked ?? ""}
          </button>
        </>
      }
    >
      {error ? <div className="sw-inline-error">{error}</div> : null}
      <div className="sw-history">
        <ol className="sw-history__list">
          {(versions ?? []).map((v) => (
            <li key={v.version}>
              <button
                className={`sw-history__item${v.version === picked ? " is-picked" : ""}`}
                onClick={() => setPicked(v.version)}
                data-testid={`history-version-${v.version}`}
              >
                <span className="sw-history__v">v{v.version}</span>
                <span className="sw-history__comment">{v.comment ?? <em>no comment</em>}</span>
                <span className="sw-history__date">{new Date(v.created_at).toLocaleString()}</span>
                {v.version === latest ? <span className="sw-tag">latest</span> : null}
              </button>
            </li>
          ))}
        </ol>
        <div className="sw-history__diff" data-testid="history-diff">
          {picked === latest ? (
            <p className="sw-muted">This is the latest version. Pick an older one to compare.</p>
          ) : diff === null ? (
            <p className="sw-muted">Loading…</p>
          ) : (
            <>
              <p className="sw-muted">
                Changes from v{picked} to v{latest}
              </p>
              <pre className="sw-diff">
                {diff.map((c, i) => (
                  <span key={i} className={`sw-diff__${c.tag}`}>
                    {c.text
                      .replace(/\n$/, "")
                      .split("\n")
                      .map((line) => `${c.tag === "insert" ? "+" : c.tag === "delete" ? "-" : " "} ${line}`)
                      .join("\n") + "\n"}
                  </span>
                ))}
              </pre>
            </>
          )}
        </div>
      </div>
    </Dialog>
  );
}
