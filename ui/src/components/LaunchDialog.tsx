// The launch dialog (SPEC §7 Launch): the cloud of the whole deployment and per-node overrides
// (clouds a node's image has no mapping for are listed disabled, with the reason), the
// keep-running policy, input overrides (secret ones in password fields, never stored), and the
// plan preview from slipway-plan. Confirming saves the deployment when it changed and launches.
// Never: keep a secret value after the launch call.

import { useEffect, useMemo, useState } from "react";
import { launchPlan, runLaunch, toCommandError } from "../api";
import type { KeepRunning, LaunchPlan, Placement } from "../api-types";
import type { Recipe } from "../bindings/recipe";
import { Dialog } from "./Dialog";

const POLICIES: { value: KeepRunning; label: string }[] = [
  { value: "on-success", label: "on success — keep it if it succeeded" },
  { value: "on-error", label: "on error — keep it if it failed, for debugging" },
  { value: "always", label: "always — keep everything" },
  { value: "never", label: "never — tear everything down at the end" },
];

export function LaunchDialog(props: { recipe: Recipe; onClose: () => void; onLaunched: (runId: string) => void }) {
  const [cloud, setCloud] = useState("local");
  const [nodeClouds, setNodeClouds] = useState<Record<string, string>>({});
  const [keep, setKeep] = useState<KeepRunning>(props.recipe.deployment.keep_running ?? "on-success");
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [plan, setPlan] = useState<LaunchPlan | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const placement = useMemo<Placement>(
    () => ({
      cloud,
      node_clouds: Object.entries(nodeClouds).filter(([, c]) => c !== ""),
      inputs: Object.entries(inputs)
        .filter(([, v]) => v !== "")
        .map(([k, v]) => {
          const [node, input] = k.split("\u0000") as [string, string];
          return [node, input, v] as [string, string, string];
        }),
    }),
    [cloud, nodeClouds, inputs],
  );

  useEffect(() => {
    let live = true;
    launchPlan({ recipe: props.recipe, placement })
      .then((p) => live && (setPlan(p), setError(null)))
      .catch((e) => live && setError(toCommandError(e).message));
    return () => {
      live = false;
    };
  }, [props.recipe, placement]);

  const errors = plan?.problems.filter((p) => p.severity === "error") ?? [];
  const unusableEverywhere = (c: string) => plan?.nodes.filter((n) => n.unusable.some((u) => u.cloud === c)) ?? [];

  const launch = async () => {
    setBusy(true);
    setError(null);
    try {
      const id = await runLaunch({ recipe: props.recipe, placement, keep });
      setInputs({});
      props.onLaunched(id);
    } catch (e) {
      setError(toCommandError(e).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Dialog
      title={`Launch ${props.recipe.name}`}
      onClose={props.onClose}
      wide
      testId="launch-dialog"
      footer={
        <>
          <div className="sw-toolbar__spacer" />
          <button className="sw-btn" onClick={props.onClose}>
            Cancel
          </button>
          <button
            className="sw-btn sw-btn--primary"
            onClick={() => void launch()}
            disabled={busy || !plan || errors.length > 0}
            data-testid="launch-confirm"
          >
            Launch
          </button>
        </>
      }
    >
      <div className="sw-launch">
        <section className="sw-launch__col">
          <label className="sw-launch__field">
            <span>Cloud for the whole deployment</span>
            <select value={cloud} onChange={(e) => setCloud(e.target.value)} data-testid="launch-cloud">
              {(plan?.clouds ?? [["local", "local"]]).map(([name, kind]) => {
                const blocked = unusableEverywhere(name);
                return (
                  <option key={name} value={name} disabled={blocked.length > 0} title={blocked[0]?.unusable.find((u) => u.cloud === name)?.reason}>
                    {name} ({kind}){blocked.length ? ` — no image mapping for ${blocked.map((b) => b.node).join(", ")}` : ""}
                  </option>
                );
              })}
            </select>
          </label>
          <h3>Nodes</h3>
          <table className="sw-launch__table">
            <tbody>
              {plan?.nodes.map((n) => (
                <tr key={n.node}>
                  <td>
                    <strong>{n.node}</strong> <span className="sw-muted">{n.multiplicity > 1 ? `×${n.multiplicity} ` : ""}{n.component}</span>
                  </td>
                  <td>
                    <select
                      value={nodeClouds[n.node] ?? ""}
                      onChange={(e) => setNodeClouds({ ...nodeClouds, [n.node]: e.target.value })}
                      data-testid={`launch-node-cloud-${n.node}`}
                      aria-label={`Cloud of ${n.node}`}
                    >
                      <option value="">same as the deployment ({n.cloud})</option>
                      {plan.clouds.map(([name]) => {
                        const why = n.unusable.find((u) => u.cloud === name);
                        return (
                          <option key={name} value={name} disabled={!!why} title={why?.reason}>
                            {name}
                            {why ? " — the image has no mapping for it" : ""}
                          </option>
                        );
                      })}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <label className="sw-launch__field">
            <span>Keep running at the end</span>
            <select value={keep} onChange={(e) => setKeep(e.target.value as KeepRunning)} data-testid="launch-keep">
              {POLICIES.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          </label>
          {plan && plan.inputs.length > 0 ? (
            <>
              <h3>Inputs</h3>
              <div className="sw-launch__inputs">
                {plan.inputs.map((i) => {
                  const key = `${i.node}\u0000${i.input}`;
                  return (
                    <label key={key} className="sw-launch__field">
                      <span>
                        {i.node}.{i.input}
                        {i.required ? " *" : ""}
                        {i.secret ? " (secret, never stored)" : ""}
                      </span>
                      <input
                        type={i.secret ? "password" : "text"}
                        autoComplete="off"
                        value={inputs[key] ?? ""}
                        placeholder={i.secret ? (i.generated ? "generated at launch" : "") : (i.value ?? "")}
                        onChange={(e) => setInputs({ ...inputs, [key]: e.target.value })}
                        data-testid={`launch-input-${i.node}-${i.input}`}
                      />
                    </label>
                  );
                })}
              </div>
            </>
          ) : null}
        </section>
        <section className="sw-launch__col sw-launch__plan" data-testid="launch-plan">
          <h3>Plan</h3>
          {errors.length > 0 ? (
            <ul className="sw-launch__problems" data-testid="launch-problems">
              {errors.map((p, i) => (
                <li key={i}>{p.message}</li>
              ))}
            </ul>
          ) : plan ? (
            <>
              <p>
                {plan.per_cloud.map((c) => `${c.instances} instance${c.instances === 1 ? "" : "s"} on ${c.cloud}`).join(", ")}; {plan.steps} steps.
              </p>
              <p className="sw-muted">Critical path ({plan.critical_path.length} steps, lower bound {plan.lower_bound} step durations):</p>
              <ol className="sw-launch__path" data-testid="launch-critical-path">
                {plan.critical_path.map((s) => (
                  <li key={s}>
                    <code>{s}</code>
                  </li>
                ))}
              </ol>
            </>
          ) : (
            <p className="sw-muted">Planning…</p>
          )}
          {error ? (
            <div className="sw-clouds__test is-error" role="alert" data-testid="launch-error">
              {error}
            </div>
          ) : null}
        </section>
      </div>
    </Dialog>
  );
}
