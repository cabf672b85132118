// What the run view and the runs history show, computed from a RunDetail (SPEC §4 state names).
// Owns: node tones and counters, wires that have flowed, the timeline's bars, durations, the log
// buffer (bounded, filtered without copying the whole list on every line). Never: I/O, React.

import type { Instance, InstanceState, LogLine, RunDetail, RunSummary, ScalePlan, Step } from "../api-types";

export type Tone = "pending" | "active" | "ready" | "failed" | "terminated";

const ACTIVE: InstanceState[] = ["provisioning", "booting", "installing", "deploying", "reporting", "terminating"];

export function toneOf(state: InstanceState): Tone {
  if (state === "failed") return "failed";
  if (state === "ready") return "ready";
  if (state === "terminated") return "terminated";
  if (ACTIVE.includes(state)) return "active";
  return "pending";
}

export interface NodeStatus {
  tone: Tone;
  /** `2/3 ready`, `1/3 failed`, `3 pending`. */
  counter: string;
  /** The states of its instances, in index order. */
  states: InstanceState[];
}

/** A node's colour and counter from its instances; `null` before any instance exists. */
export function nodeStatus(instances: Instance[], node: string, multiplicity: number): NodeStatus | null {
  const all = instances.filter((i) => i.node === node).sort((a, b) => a.index - b.index);
  if (all.length === 0) return null;
  // A kept run scaled down: the instances removed are history, the others are the node now.
  const scaledDown =
    all.some((i) => i.state === "terminated") &&
    all.some((i) => i.state !== "terminated") &&
    !all.some((i) => i.state === "terminating");
  const mine = scaledDown ? all.filter((i) => i.state !== "terminated") : all;
  const total = scaledDown ? mine.length : Math.max(mine.length, multiplicity);
  const count = (s: InstanceState) => mine.filter((i) => i.state === s).length;
  const states = mine.map((i) => i.state);
  let tone: Tone;
  let counter: string;
  if (count("failed") > 0) {
    tone = "failed";
    counter = `${count("failed")}/${total} failed`;
  } else if (count("terminated") === mine.length) {
    tone = "terminated";
    counter = `${total}/${total} terminated`;
  } else if (count("ready") === mine.length && mine.length === total) {
    tone = "ready";
    counter = `${total}/${total} ready`;
  } else if (states.some((s) => ACTIVE.includes(s))) {
    tone = "active";
    const active = states.find((s) => ACTIVE.includes(s))!;
    counter = count("ready") > 0 ? `${count("ready")}/${total} ready` : `${states.filter((s) => s === active).length}/${total} ${active}`;
  } else if (count("ready") > 0) {
    tone = "active";
    counter = `${count("ready")}/${total} ready`;
  } else {
    tone = "pending";
    counter = `${total} pending`;
  }
  return { tone, counter, states };
}

/** Whether a wire's value has flowed: every instance of the source node has the parameter. */
export function wireFlowed(detail: RunDetail, fromNode: string, param: string, index?: number): boolean {
  const sources = detail.instances.filter((i) => i.node === fromNode && (index === undefined || i.index === index));
  if (sources.length === 0) return false;
  return sources.every((i) => detail.params.some((p) => p.instance === i.name && p.name === param));
}

/** The step an instance is at: the running one, else the last that started. */
export function currentStep(steps: Step[], instance: string): Step | undefined {
  const mine = steps.filter((s) => s.instance === instance);
  return mine.find((s) => s.state === "running") ?? [...mine].reverse().find((s) => s.started_at !== null);
}

/** `42s`, `3m 05s`, `1h 02m`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** How long a run took, or has been going (against `now`). */
export function runElapsed(run: RunSummary, now: number): number {
  const start = run.started_at ?? run.created_at;
  return (run.ended_at ?? now) - start;
}

/** The state to show: `interrupted` when its owner died. */
export function displayState(run: RunSummary): string {
  return run.interrupted ? "interrupted" : run.state;
}

export function isFinal(run: RunSummary): boolean {
  return run.state === "done" || run.state === "aborted" || run.state === "cancelled";
}

export interface Bar {
  instance: string;
  step: Step;
  /** Offsets from the run's start, in ms. */
  start: number;
  end: number;
  critical: boolean;
}

/**
 * Every started step as a bar. The critical path (as it happened): from the step that ended
 * last, walk back to the step that ended latest before it started — on its own instance or on
 * the instance it waited for — until the start.
 */
export function timeline(detail: RunDetail, now: number): { bars: Bar[]; span: number } {
  const origin = detail.run.started_at ?? detail.run.created_at;
  const bars: Bar[] = detail.steps
    .filter((s) => s.started_at !== null)
    .map((s) => ({
      instance: s.instance,
      step: s,
      start: s.started_at! - origin,
      end: (s.ended_at ?? (isFinal(detail.run) ? s.started_at! : now)) - origin,
      critical: false,
    }));
  const span = Math.max(1, ...bars.map((b) => b.end));
  let at = [...bars].sort((a, b) => b.end - a.end)[0];
  const seen = new Set<Bar>();
  while (at && !seen.has(at)) {
    seen.add(at);
    at.critical = true;
    const before = at.start;
    at = bars.filter((b) => !seen.has(b) && b.end <= before + 1).sort((a, b) => b.end - a.end)[0];
  }
  return { bars, span };
}

/**
 * The log lines of a run, bounded (oldest dropped first), with per-view filtering that scans only
 * lines appended since the last call.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private dropped = 0;
  constructor(private readonly cap = 200_000) {}

  get lastId(): number {
    return this.lines.length ? this.lines[this.lines.length - 1]!.id : 0;
  }

  get size(): number {
    return this.lines.length;
  }

  append(lines: LogLine[]): void {
    for (const l of lines) this.lines.push(l);
    if (this.lines.length > this.cap) {
      const extra = this.lines.length - this.cap;
      this.lines.splice(0, extra);
      this.dropped += extra;
    }
  }

  /** The lines of one instance (all with `null`) whose text contains `query` (any case). All
   * lines unfiltered are the buffer itself, not a copy (the live view asks once a frame). */
  filter(instance: string | null, query: string): readonly LogLine[] {
    if (instance === null && query === "") return this.lines;
    const q = query.toLowerCase();
    return this.lines.filter((l) => (instance === null || l.instance === instance) && (q === "" || l.line.toLowerCase().includes(q)));
  }

  /** How many lines were dropped to stay within the bound. */
  get droppedCount(): number {
    return this.dropped;
  }
}

/** The rows a virtualized list draws: a window of `[first, last)` around the scroll position. */
export function visibleRange(scrollTop: number, viewport: number, rowHeight: number, count: number, overscan = 20): [number, number] {
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + viewport) / rowHeight) + overscan);
  return [first, last];
}

/** A scale's plan as the lines the run view shows before the user confirms it (the CLI's
 * `slipway scale --dry-run` says the same). */
export function describeScale(plan: ScalePlan): string[] {
  const lines: string[] = [];
  const plural = (n: number) => `${n} instance${n === 1 ? "" : "s"}`;
  const hook = plan.hook_on.length
    ? `${plan.hook} on ${plan.hook_on.join(", ")}`
    : `${plan.hook} runs nowhere: no component of ${plan.hook_missing.join(", ")} has that recipe`;
  if (plan.delta > 0) {
    lines.push(`Add ${plan.add.join(", ")} on ${plan.cloud}: ${plan.steps.join(" → ")}`);
    lines.push(`Then ${hook}`);
    lines.push(`${plan.node}: ${plural(plan.live)} → ${plural(plan.live + plan.add.length)}`);
  } else {
    lines.push(`First ${hook}`);
    lines.push(`Then terminate ${plan.remove.join(", ")}`);
    lines.push(`${plan.node}: ${plural(plan.live)} → ${plural(plan.live - plan.remove.length)}`);
  }
  return lines;
}
