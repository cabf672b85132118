// The runs history: every run, from the app or the CLI, newest first, with state, duration,
// clouds and the deployment version used; open one in the run view; delete finished runs;
// interrupted runs (their owner was killed) are flagged with Resume and Terminate. Kept live over a Tauri
// Channel (api.runsFollow), so a run started by `slipway run` appears at once.

import { useEffect, useState } from "react";
import { confirmDialog, runDelete, runResume, runsFollow, runTerminate, toCommandError } from "../api";
import type { RunHistoryEntry } from "../api-types";
import { displayState, formatDuration, isFinal, runElapsed } from "../model/runs";

export function RunsPage(props: { onClose: () => void; onOpen: (id: string) => void }) {
  const [runs, setRuns] = useState<RunHistoryEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [now, setNow] = useState(Date.now());

  useEffect(() => runsFollow(setRuns), []);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const act = async (what: () => Promise<unknown>) => {
    try {
      setError(null);
      await what();
    } catch (e) {
      setError(toCommandError(e).message);
    }
  };

  return (
    <div className="sw-clouds sw-runs" data-testid="runs-page" role="region" aria-label="Runs">
      <header className="sw-clouds__head">
        <h1>Runs</h1>
        <span className="sw-muted">from the app and the CLI</span>
        <div className="sw-toolbar__spacer" />
        <button className="sw-btn" onClick={props.onClose} data-testid="runs-close">
          Back to the designer
        </button>
      </header>
      {error ? (
        <div className="sw-clouds__banner" role="alert" data-testid="runs-error">
          {error}
        </div>
      ) : null}
      {runs && runs.length === 0 ? <p className="sw-muted">No run yet: open a deployment and click Launch.</p> : null}
      <table className="sw-clouds__table" data-testid="runs-table">
        <thead>
          <tr>
            <th>State</th>
            <th>Deployment</th>
            <th>Run</th>
            <th>Started</th>
            <th>Duration</th>
            <th>Clouds</th>
            <th>Version</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(runs ?? []).map(({ run, clouds, deployment_version }) => {
            const state = displayState(run);
            return (
              <tr key={run.id} data-testid={`run-row-${run.id}`} className={run.interrupted ? "is-interrupted" : ""}>
                <td>
                  <span className={`sw-state is-${state}`} data-testid={`run-row-state-${run.id}`}>
                    {state}
                  </span>
                </td>
                <td className="sw-clouds__name">{run.name}</td>
                <td className="sw-clouds__mono">{run.id}</td>
                <td>{new Date(run.created_at).toLocaleString()}</td>
                <td>{formatDuration(runElapsed(run, now))}</td>
                <td>{clouds.join(", ")}</td>
                <td>{deployment_version !== null ? `v${deployment_version}` : <span className="sw-muted">file</span>}</td>
                <td className="sw-clouds__actions">
                  <button className="sw-btn" onClick={() => props.onOpen(run.id)} data-testid={`run-open-${run.id}`}>
                    Open
                  </button>
                  {run.interrupted ? (
                    <button className="sw-btn" onClick={() => void act(() => runResume({ id: run.id }))} data-testid={`run-row-resume-${run.id}`}>
                      Resume
                    </button>
                  ) : null}
                  {!isFinal(run) ? (
                    <button className="sw-btn sw-btn--danger" onClick={() => void act(() => runTerminate({ id: run.id }))} data-testid={`run-row-terminate-${run.id}`}>
                      Terminate
                    </button>
                  ) : (
                    <button
                      className="sw-btn sw-btn--danger"
                      onClick={() =>
                        void act(async () => {
                          if (await confirmDialog(`Delete run ${run.id} and its logs and reports?`)) await runDelete({ id: run.id });
                        })
                      }
                      data-testid={`run-delete-${run.id}`}
                    >
                      Delete
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
