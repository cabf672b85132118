// The run view (SPEC §7): the deployment's graph, read-only, every node coloured by the state of
// its instances with counters, wires lit once their value has flowed; the run's state and elapsed
// time; Terminate, Resume (an interrupted run) and Re-launch; + / − on the selected node of a kept
// run (scale); the selected node's instances (state, step, address, outputs,
// reports, failed steps with their exit status); a virtualized live log pane; a timeline.
// Live updates arrive over a Tauri Channel (api.runFollow), straight from the store the run's
// owner writes, whoever started it. Never: edit the document.

import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Background, BackgroundVariant, Controls, Handle, Position, ReactFlow, ReactFlowProvider, type NodeProps, type Node as FlowNode } from "@xyflow/react";
import { reportOpen, runFollow, runRecipe, runResume, runScale, runScalePlan, runTerminate, toCommandError } from "../api";
import type { Instance, LogLine, RunDetail, ScalePlan, Step } from "../api-types";
import type { Recipe } from "../bindings/recipe";
import { handleName, inHandle, outHandle, recipeToFlow } from "../model/mapping";
import {
  currentStep,
  displayState,
  formatDuration,
  isFinal,
  LogBuffer,
  describeScale,
  nodeStatus,
  runElapsed,
  timeline,
  visibleRange,
  wireFlowed,
  type NodeStatus,
} from "../model/runs";
import { resolvedTheme, useDesigner } from "../store";

interface RunNodeData extends Record<string, unknown> {
  name: string;
  component: string;
  multiplicity: number;
  status: NodeStatus | null;
  inputs: string[];
  outputs: string[];
}
type RunFlowNode = FlowNode<RunNodeData, "run">;

const RunNode = memo(function RunNode({ data, selected }: NodeProps<RunFlowNode>) {
  const tone = data.status?.tone ?? "pending";
  return (
    <div className={`sw-run-node is-${tone}${selected ? " is-selected" : ""}`} data-testid={`run-node-${data.name}`} data-tone={tone}>
      {data.inputs.map((i, n) => (
        <Handle key={i} type="target" position={Position.Left} id={inHandle(i)} style={{ top: 20 + n * 10 }} isConnectable={false} />
      ))}
      <div className="sw-run-node__title">
        <span className="sw-run-node__dot" aria-hidden />
        {data.name}
        {data.multiplicity > 1 ? <span className="sw-badge">×{data.multiplicity}</span> : null}
      </div>
      <div className="sw-run-node__component">{data.component}</div>
      <div className="sw-run-node__counter" data-testid={`run-node-counter-${data.name}`}>
        {data.status?.counter ?? "waiting"}
      </div>
      {data.outputs.map((o, n) => (
        <Handle key={o} type="source" position={Position.Right} id={outHandle(o)} style={{ top: 20 + n * 10 }} isConnectable={false} />
      ))}
    </div>
  );
});

const nodeTypes = { run: RunNode };
const ROW = 18;

/** Re-renders at most once a frame however many updates arrive. */
function useFrameTick(): [number, () => void] {
  const [tick, setTick] = useState(0);
  const pending = useRef(false);
  const bump = useCallback(() => {
    if (pending.current) return;
    pending.current = true;
    requestAnimationFrame(() => {
      pending.current = false;
      setTick((t) => t + 1);
    });
  }, []);
  return [tick, bump];
}

export function RunView(props: { runId: string; onClose: () => void; onRelaunch: (recipe: Recipe) => void }) {
  const [detail, setDetail] = useState<RunDetail | null>(null);
  const [recipe, setRecipe] = useState<Recipe | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [tab, setTab] = useState<"logs" | "timeline">("logs");
  const [now, setNow] = useState(Date.now());
  const logs = useRef(new LogBuffer());
  // New lines wake the log pane only: the graph and the panels do not redraw for them.
  const logListeners = useRef(new Set<() => void>());
  const onLogs = useCallback((listener: () => void) => {
    logListeners.current.add(listener);
    return () => void logListeners.current.delete(listener);
  }, []);
  // The newest detail, applied once a frame however often it arrives.
  const pendingDetail = useRef<RunDetail | null>(null);

  useEffect(() => {
    logs.current = new LogBuffer();
    setDetail(null);
    runRecipe({ id: props.runId }).then(setRecipe, (e) => setError(toCommandError(e).message));
    const stop = runFollow({ id: props.runId }, (u) => {
      if (u.type === "detail") {
        const first = pendingDetail.current === null;
        pendingDetail.current = u.detail;
        if (first)
          requestAnimationFrame(() => {
            setDetail(pendingDetail.current);
            pendingDetail.current = null;
          });
      }
      else if (u.type === "logs") {
        logs.current.append(u.lines);
        // A measuring hook for the performance bench (src-tauri/tests/e2e.rs); absent otherwise.
        (window as unknown as { __slipwayLogSeen?: (lines: LogLine[]) => void }).__slipwayLogSeen?.(u.lines);
        for (const listener of logListeners.current) listener();
      }
    });
    return stop;
  }, [props.runId]);

  const running = detail ? !isFinal(detail.run) : true;
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [running]);

  // The log pane's instance picker changes when instances come or go, not with every detail.
  const namesKey = detail ? detail.instances.map((i) => `${i.node}\t${i.name}`).join("\n") : "";
  const instanceNames = useMemo<InstanceName[]>(
    () => detail?.instances.map(({ node, name }) => ({ node, name })) ?? NO_INSTANCES,
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [namesKey],
  );

  const theme = useDesigner(resolvedTheme);
  const flow = useMemo(() => (recipe ? recipeToFlow(recipe, { problems: [] }) : null), [recipe]);
  const nodes = useMemo<RunFlowNode[]>(() => {
    if (!flow || !recipe) return [];
    return flow.nodes.map((n) => ({
      id: n.id,
      type: "run" as const,
      position: n.position,
      selected: n.id === selected,
      draggable: false,
      data: {
        name: n.data.name,
        component: n.data.node.component,
        multiplicity: n.data.node.multiplicity ?? 1,
        status: detail ? nodeStatus(detail.instances, n.data.name, n.data.node.multiplicity ?? 1) : null,
        inputs: n.data.inputs.map((i) => i.name),
        outputs: n.data.outputs.map((o) => o.name),
      },
    }));
  }, [flow, recipe, detail, selected]);
  const edges = useMemo(() => {
    if (!flow) return [];
    return flow.edges.map((e) => {
      const lit = detail && e.data ? wireFlowed(detail, e.source, e.data.param, e.data.index) : false;
      return {
        ...e,
        className: `sw-wire${lit ? " is-lit" : ""}`,
        animated: !lit && running,
        domAttributes: { "data-testid": `run-wire-${e.target}-${handleName(e.targetHandle)}`, "data-lit": String(lit) } as Record<string, string>,
      };
    });
  }, [flow, detail, running]);

  const terminate = async () => {
    try {
      await runTerminate({ id: props.runId });
    } catch (e) {
      setError(toCommandError(e).message);
    }
  };

  const resume = async () => {
    try {
      setError(null);
      await runResume({ id: props.runId });
    } catch (e) {
      setError(toCommandError(e).message);
    }
  };

  const scale = async (node: string, change: string) => {
    try {
      setError(null);
      await runScale({ id: props.runId, node, change });
    } catch (e) {
      setError(toCommandError(e).message);
    }
  };

  // A run being torn down by `slipway terminate` has no live owner, yet it is not forgotten.
  const tearingDown = detail?.instances.some((i) => i.state === "terminating") ?? false;
  const state = detail ? (detail.run.interrupted && tearingDown ? "terminating" : displayState(detail.run)) : "loading";
  return (
    <div className="sw-run" data-testid="run-view" role="region" aria-label="Run">
      <header className="sw-run__head">
        <button className="sw-btn" onClick={props.onClose} data-testid="run-close">
          ← Back
        </button>
        <h1>{detail?.run.name ?? recipe?.name ?? "Run"}</h1>
        <code className="sw-muted" data-testid="run-id">{props.runId}</code>
        <span className={`sw-state is-${state}`} data-testid="run-state">
          {state}
        </span>
        {detail ? (
          <span className="sw-muted" data-testid="run-elapsed">
            {formatDuration(runElapsed(detail.run, now))}
          </span>
        ) : null}
        <div className="sw-toolbar__spacer" />
        {detail?.run.error ? <span className="sw-run__error" title={detail.run.error}>{detail.run.error}</span> : null}
        {detail?.run.interrupted && !tearingDown ? (
          <button className="sw-btn" onClick={() => void resume()} data-testid="run-resume" title="Continue the run from where its process died">
            Resume
          </button>
        ) : null}
        <button className="sw-btn" onClick={() => recipe && props.onRelaunch(recipe)} disabled={!recipe} data-testid="run-relaunch">
          Re-launch…
        </button>
        <button
          className="sw-btn sw-btn--danger"
          onClick={() => void terminate()}
          disabled={!detail || (isFinal(detail.run) && detail.instances.every((i) => i.state === "terminated" || i.state === "failed"))}
          data-testid="run-terminate"
        >
          Terminate
        </button>
      </header>
      {error ? (
        <div className="sw-clouds__banner" role="alert">
          {error}
        </div>
      ) : null}
      <div className="sw-run__body">
        <div className="sw-run__graph" data-testid="run-graph">
          {nodes.length > 0 ? (
          <ReactFlowProvider>
            <ReactFlow<RunFlowNode>
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              colorMode={theme}
              nodesDraggable={false}
              nodesConnectable={false}
              elementsSelectable
              onNodeClick={(_, n) => setSelected(n.id)}
              onPaneClick={() => setSelected(null)}
              fitView
              fitViewOptions={{ padding: 0.2, maxZoom: 1 }}
              proOptions={{ hideAttribution: true }}
              minZoom={0.2}
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} />
              <Controls showInteractive={false} />
            </ReactFlow>
          </ReactFlowProvider>
          ) : null}
        </div>
        <aside className="sw-run__side" data-testid="instance-panel">
          {selected && detail ? (
            <>
              {detail.run.state === "ready" ? (
                <ScaleBar
                  runId={props.runId}
                  node={selected}
                  live={detail.instances.filter((i) => i.node === selected && i.state !== "terminated" && i.state !== "terminating").length}
                  onScale={(change) => void scale(selected, change)}
                />
              ) : null}
              <Instances detail={detail} node={selected} />
            </>
          ) : (
            <p className="sw-muted sw-run__hint">Click a node to see its instances, outputs and reports.</p>
          )}
        </aside>
      </div>
      <section className="sw-run__bottom">
        <div className="sw-run__tabs" role="tablist">
          <button role="tab" aria-selected={tab === "logs"} className={tab === "logs" ? "is-active" : ""} onClick={() => setTab("logs")} data-testid="tab-logs">
            Logs
          </button>
          <button role="tab" aria-selected={tab === "timeline"} className={tab === "timeline" ? "is-active" : ""} onClick={() => setTab("timeline")} data-testid="tab-timeline">
            Timeline
          </button>
        </div>
        {tab === "logs" ? (
          <LogPane buffer={logs.current} onLogs={onLogs} instances={instanceNames} selectedNode={selected} />
        ) : detail ? (
          <Timeline detail={detail} now={now} />
        ) : null}
      </section>
    </div>
  );
}

function Instances(props: { detail: RunDetail; node: string }) {
  const { detail } = props;
  const mine = detail.instances.filter((i) => i.node === props.node).sort((a, b) => a.index - b.index);
  if (mine.length === 0) return <p className="sw-muted sw-run__hint">No instance of {props.node} yet.</p>;
  return (
    <div className="sw-instances">
      <h2>{props.node}</h2>
      {mine.map((i) => (
        <InstanceCard key={i.name} detail={detail} instance={i} />
      ))}
    </div>
  );
}

function InstanceCard(props: { detail: RunDetail; instance: Instance }) {
  const { detail, instance: i } = props;
  const step = currentStep(detail.steps, i.name);
  const outputs = detail.params.filter((p) => p.instance === i.name && p.kind !== "input");
  const inputs = detail.params.filter((p) => p.instance === i.name && p.kind === "input");
  const failed = detail.steps.filter((s) => s.instance === i.name && s.state === "failed");
  const reports = detail.reports.filter((r) => r.instance === i.name);
  const open = (path: string, folder: boolean) =>
    void reportOpen({ id: detail.run.id, instance: i.name, path, folder }).catch(() => {});
  return (
    <div className={`sw-instance is-${i.state}`} data-testid={`instance-${i.name}`}>
      <div className="sw-instance__head">
        <strong>{i.name}</strong>
        <span className={`sw-state is-${i.state}`} data-testid={`instance-state-${i.name}`}>
          {i.state}
        </span>
        {step ? <span className="sw-muted">{step.kind}</span> : null}
      </div>
      <div className="sw-instance__meta">
        {i.hostname ? <code>{i.hostname}</code> : null} <span className="sw-muted">on {i.cloud}</span>
      </div>
      {failed.map((s: Step) => (
        <div key={s.kind} className="sw-instance__failed" data-testid={`step-failed-${i.name}-${s.kind}`}>
          {s.kind} failed{s.exit_code !== null ? ` with exit status ${s.exit_code}` : ""}
          {i.reason ? `: ${i.reason}` : ""}
        </div>
      ))}
      {outputs.length + inputs.length > 0 ? (
        <table className="sw-instance__params">
          <tbody>
            {[...outputs, ...inputs].map((p) => (
              <tr key={`${p.kind}-${p.name}`} data-testid={`param-${i.name}-${p.name}`}>
                <td className="sw-muted">{p.kind === "input" ? "in" : p.kind === "builtin" ? "built-in" : "out"}</td>
                <td>{p.name}</td>
                <td className="sw-instance__value">
                  <code>{p.value}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {reports.length > 0 ? (
        <ul className="sw-instance__reports">
          {reports.map((r) => (
            <li key={r.path}>
              <button className="sw-link" onClick={() => open(r.path, false)}>
                {r.path}
              </button>{" "}
              <span className="sw-muted">{r.size} B</span>{" "}
              <button className="sw-link" onClick={() => open(r.path, true)}>
                folder
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

/** An instance as the log pane's picker knows it. */
interface InstanceName {
  node: string;
  name: string;
}
const NO_INSTANCES: InstanceName[] = [];

/** The log pane: one instance or all, search, follow mode, copy; virtualized (only the visible
 * rows are drawn), and redrawn once a frame while lines arrive (`onLogs`). */
const LogPane = memo(function LogPane(props: {
  buffer: LogBuffer;
  onLogs: (listener: () => void) => () => void;
  instances: InstanceName[];
  selectedNode: string | null;
}) {
  const [tick, bump] = useFrameTick();
  useEffect(() => props.onLogs(bump), [props.onLogs, bump]);
  // A big run has hundreds of instances: their options are made when they change, not per frame.
  const options = useMemo(
    () =>
      props.instances.map((i) => (
        <option key={i.name} value={i.name}>
          {i.name}
        </option>
      )),
    [props.instances],
  );
  const [instance, setInstance] = useState<string | null>(null);
  const [query, setQuery] = useState("");
  const [followTail, setFollowTail] = useState(true);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(240);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (props.selectedNode) {
      const first = props.instances.find((i) => i.node === props.selectedNode);
      if (first) setInstance(first.name);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.selectedNode]);

  // eslint-disable-next-line react-hooks/exhaustive-deps
  const lines = useMemo(() => props.buffer.filter(instance, query), [props.buffer, tick, instance, query]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Follow mode keeps the end in view; the rows drawn follow at once (not only on the next
  // scroll event, which a busy page may deliver late).
  const autoTop = useRef(-1);
  useEffect(() => {
    const el = box.current;
    if (!el || !followTail) return;
    el.scrollTop = el.scrollHeight;
    autoTop.current = el.scrollTop;
    setScrollTop(el.scrollTop);
  }, [lines, lines.length, followTail, height]);

  const [first, last] = visibleRange(scrollTop, height, ROW, lines.length);
  const copy = () => void navigator.clipboard?.writeText(lines.map((l) => `${l.instance ?? "run"} ${l.line}`).join("\n"));

  return (
    <div className="sw-logs" data-testid="log-pane">
      <div className="sw-logs__bar">
        <select value={instance ?? ""} onChange={(e) => setInstance(e.target.value || null)} data-testid="log-instance" aria-label="Instance">
          <option value="">all instances</option>
          {options}
        </select>
        <input type="search" placeholder="Search the log" value={query} onChange={(e) => setQuery(e.target.value)} data-testid="log-search" />
        <label className="sw-logs__follow">
          <input type="checkbox" checked={followTail} onChange={(e) => setFollowTail(e.target.checked)} data-testid="log-follow" /> follow
        </label>
        <button className="sw-btn" onClick={copy} data-testid="log-copy">
          Copy
        </button>
        <span className="sw-muted" data-testid="log-count">
          {lines.length} line{lines.length === 1 ? "" : "s"}
        </span>
      </div>
      <div
        className="sw-logs__scroll"
        ref={box}
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          // Scrolling up (not follow mode's own scrolling) leaves follow mode.
          const movedByUser = Math.abs(el.scrollTop - autoTop.current) > 1;
          const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW * 2;
          if (movedByUser && !atEnd && followTail) setFollowTail(false);
        }}
      >
        <div style={{ height: lines.length * ROW, position: "relative" }}>
          {lines.slice(first, last).map((l, n) => (
            <div key={l.id} className={`sw-logs__line is-${l.stream}`} style={{ top: (first + n) * ROW }} data-testid="log-line">
              <span className="sw-logs__who">{l.instance ?? "run"}</span>
              {l.step ? <span className="sw-logs__step">{l.step}</span> : null}
              <span className="sw-logs__text">{l.line}</span>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
});

function Timeline(props: { detail: RunDetail; now: number }) {
  const { bars, span } = timeline(props.detail, props.now);
  const rows = props.detail.instances.map((i) => i.name);
  return (
    <div className="sw-timeline" data-testid="timeline">
      {rows.map((r) => (
        <div key={r} className="sw-timeline__row">
          <span className="sw-timeline__label">{r}</span>
          <div className="sw-timeline__track">
            {bars
              .filter((b) => b.instance === r)
              .map((b) => (
                <div
                  key={b.step.kind}
                  className={`sw-timeline__bar is-${b.step.state}${b.critical ? " is-critical" : ""}`}
                  style={{ left: `${(b.start / span) * 100}%`, width: `${Math.max(0.4, ((b.end - b.start) / span) * 100)}%` }}
                  title={`${r} ${b.step.kind}: ${b.step.state}, ${formatDuration(b.end - b.start)}${b.critical ? " (critical path)" : ""}`}
                  data-testid={`bar-${r}-${b.step.kind}`}
                />
              ))}
          </div>
        </div>
      ))}
      <div className="sw-timeline__legend sw-muted">
        {formatDuration(span)} in all · <span className="sw-timeline__key is-critical" /> critical path
      </div>
    </div>
  );
}

/** + / − for the selected node of a kept run: shows the scale's plan (`slipway scale --dry-run`),
 * and on confirm starts `slipway scale RUN NODE +N|-N` in the background. */
function ScaleBar(props: { runId: string; node: string; live: number; onScale: (change: string) => void }) {
  const [count, setCount] = useState(1);
  const [pending, setPending] = useState<{ change: string; plan: ScalePlan } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  // A plan is for one node and one set of instances: drop it when either changes.
  useEffect(() => {
    setPending(null);
    setProblem(null);
  }, [props.node, props.live]);
  const ask = async (sign: "+" | "-") => {
    const change = `${sign}${count}`;
    try {
      setProblem(null);
      setPending({ change, plan: await runScalePlan({ id: props.runId, node: props.node, change }) });
    } catch (e) {
      setPending(null);
      setProblem(toCommandError(e).message);
    }
  };
  return (
    <div className="sw-run__scalebox">
      <div className="sw-run__scale" data-testid="scale-bar">
        <span className="sw-muted">
          {props.node}: {props.live} instance{props.live === 1 ? "" : "s"}
        </span>
        <button
          className="sw-btn"
          onClick={() => void ask("-")}
          disabled={props.live - count < 1}
          title="Remove the highest instances (on_node_remove runs first)"
          aria-label={`Remove instances of ${props.node}`}
          data-testid="scale-down"
        >
          −
        </button>
        <input
          className="sw-input sw-run__scale-count"
          type="number"
          min={1}
          value={count}
          onChange={(e) => setCount(Math.max(1, Math.floor(Number(e.target.value)) || 1))}
          aria-label="How many instances to add or remove"
          data-testid="scale-count"
        />
        <button
          className="sw-btn"
          onClick={() => void ask("+")}
          title="Add instances (on_node_add runs on the others)"
          aria-label={`Add instances of ${props.node}`}
          data-testid="scale-up"
        >
          +
        </button>
      </div>
      {problem ? (
        <p className="sw-run__scale-problem" role="alert" data-testid="scale-problem">
          {problem}
        </p>
      ) : null}
      {pending ? (
        <div className="sw-run__scaleplan" role="dialog" aria-label={`Scale ${props.node} ${pending.change}`} data-testid="scale-plan">
          <strong>
            Scale {props.node} {pending.change}
          </strong>
          <ul>
            {describeScale(pending.plan).map((line) => (
              <li key={line}>{line}</li>
            ))}
          </ul>
          <div className="sw-run__scaleplan-actions">
            <button className="sw-btn" onClick={() => setPending(null)} data-testid="scale-cancel">
              Cancel
            </button>
            <button
              className="sw-btn sw-btn--primary"
              onClick={() => {
                props.onScale(pending.change);
                setPending(null);
              }}
              data-testid="scale-confirm"
            >
              Scale
            </button>
          </div>
        </div>
      ) : null}
    </div>
  );
}
