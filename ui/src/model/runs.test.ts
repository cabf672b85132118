import { describe, expect, it } from "vitest";
import type { Instance, Param, RunDetail, RunSummary, Step } from "../api-types";
import { LogBuffer, describeScale, nodeStatus, timeline, visibleRange, wireFlowed } from "./runs";

const inst = (name: string, state: Instance["state"]): Instance => {
  const [node, index] = name.split(".") as [string, string];
  return { name, node, index: Number(index), cloud: "local", state, resource_id: null, hostname: null, failed_step: null, reason: null, updated_at: 0 };
};
const param = (instance: string, name: string, kind: Param["kind"] = "output"): Param => ({ instance, name, kind, value: "v", secret: false, updated_at: 0 });
const run: RunSummary = {
  id: "r", name: "d", state: "executing", keep_running: "on-success", default_cloud: "local", created_at: 0, started_at: 0,
  ended_at: null, exit_code: null, error: null, owner_pid: 1, owner_start_time: 1, interrupted: false,
};
const detail = (instances: Instance[], params: Param[], steps: Step[] = []): RunDetail => ({
  run, recipe_text: "", instances, steps, params, transitions: [], reports: [], modules: [],
});

describe("node status", () => {
  it("counts ready instances and colours by the worst state", () => {
    expect(nodeStatus([inst("web.1", "ready"), inst("web.2", "deploying")], "web", 2)).toMatchObject({ tone: "active", counter: "1/2 ready" });
    expect(nodeStatus([inst("web.1", "ready"), inst("web.2", "ready")], "web", 2)).toMatchObject({ tone: "ready", counter: "2/2 ready" });
    // Scaled: web.2 was removed, web.3 added; the node is what is left.
    expect(nodeStatus([inst("web.1", "ready"), inst("web.2", "terminated"), inst("web.3", "ready")], "web", 2)).toMatchObject({ tone: "ready", counter: "2/2 ready" });
    expect(nodeStatus([inst("web.1", "ready"), inst("web.2", "terminated"), inst("web.3", "terminated")], "web", 3)).toMatchObject({ tone: "ready", counter: "1/1 ready" });
    expect(nodeStatus([inst("web.1", "ready"), inst("web.2", "failed")], "web", 2)).toMatchObject({ tone: "failed", counter: "1/2 failed" });
    expect(nodeStatus([inst("web.1", "terminated")], "web", 1)).toMatchObject({ tone: "terminated" });
    expect(nodeStatus([], "web", 2)).toBeNull();
  });
});

describe("wires", () => {
  it("are lit once every source instance has the parameter", () => {
    const d = detail([inst("db.1", "ready"), inst("web.1", "deploying")], [param("db.1", "port")]);
    expect(wireFlowed(d, "db", "port")).toBe(true);
    expect(wireFlowed(d, "db", "url")).toBe(false);
    expect(wireFlowed(d, "web", "url")).toBe(false);
    expect(wireFlowed(d, "db", "port", 2)).toBe(false);
  });
});

describe("timeline", () => {
  it("marks the chain that ended last as the critical path", () => {
    const step = (instance: string, kind: Step["kind"], s: number, e: number): Step => ({ instance, kind, state: "succeeded", started_at: s, ended_at: e, exit_code: 0 });
    const d = detail([], [], [step("db.1", "provision", 0, 10), step("web.1", "provision", 0, 5), step("db.1", "deployment", 10, 30), step("web.1", "deployment", 30, 40)]);
    const { bars, span } = timeline(d, 100);
    expect(span).toBe(40);
    expect(bars.filter((b) => b.critical).map((b) => `${b.instance}/${b.step.kind}`)).toEqual(["db.1/provision", "db.1/deployment", "web.1/deployment"]);
  });
});

describe("the log buffer", () => {
  it("is bounded and filters by instance and text", () => {
    const b = new LogBuffer(3);
    const line = (id: number, instance: string, text: string) => ({ id, run_id: "r", instance, step: null, stream: "stdout" as const, line: text, at: 0 });
    b.append([line(1, "a.1", "one"), line(2, "b.1", "Two"), line(3, "a.1", "three"), line(4, "a.1", "four")]);
    expect(b.size).toBe(3);
    expect(b.droppedCount).toBe(1);
    expect(b.lastId).toBe(4);
    expect(b.filter("a.1", "").map((l) => l.id)).toEqual([3, 4]);
    expect(b.filter(null, "two").map((l) => l.id)).toEqual([2]);
  });

  it("draws only a window of rows", () => {
    expect(visibleRange(0, 180, 18, 10_000, 5)).toEqual([0, 15]);
    expect(visibleRange(18_000, 180, 18, 10_000, 5)).toEqual([995, 1015]);
  });
});

describe("scale plan", () => {
  const base = { run_id: "r", node: "web", cloud: "local", live: 2, hook_missing: ["web"] };
  it("says what is added, where the hook runs and the count after", () => {
    const lines = describeScale({
      ...base, delta: 2, add: ["web.3", "web.4"], steps: ["provision", "deployment"], remove: [],
      hook: "on_node_add", hook_on: ["lb.1"],
    });
    expect(lines).toEqual([
      "Add web.3, web.4 on local: provision → deployment",
      "Then on_node_add on lb.1",
      "web: 2 instances → 4 instances",
    ]);
  });
  it("runs the hook first when removing, and says when no component has it", () => {
    const lines = describeScale({
      ...base, delta: -1, add: [], steps: [], remove: ["web.2"], hook: "on_node_remove", hook_on: [],
    });
    expect(lines).toEqual([
      "First on_node_remove runs nowhere: no component of web has that recipe",
      "Then terminate web.2",
      "web: 2 instances → 1 instance",
    ]);
  });
});
