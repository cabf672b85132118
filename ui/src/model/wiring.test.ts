import { describe, expect, it } from "vitest";
import { connect, connectProblem, disconnect } from "./edits";
import { example } from "../test/examples";
import type { Recipe } from "../bindings/recipe";

const web = () => example("web-with-db");

function expectOk<T extends object>(r: { ok: true; recipe: Recipe } & T | { ok: false; message: string }) {
  if (!r.ok) throw new Error(`expected ok, got: ${r.message}`);
  return r;
}

describe("wiring rules", () => {
  it("wires an output into an input", () => {
    const r = expectOk(connect(web(), { source: "web", param: "url", target: "smoke", input: "urls" }));
    expect(r.recipe.deployment.nodes.smoke!.inputs!.urls).toEqual({ from: "web.url" });
  });

  it("wires a built-in parameter, and a single instance as node.N.param", () => {
    const r = expectOk(connect(web(), { source: "web", param: "hostname", index: 2, target: "smoke", input: "db_host" }));
    expect(r.recipe.deployment.nodes.smoke!.inputs!.db_host).toEqual({ from: "web.2.hostname" });
  });

  it("refuses a wire that starts at an input or ends at an output", () => {
    const fromInput = connect(web(), { source: "web", param: "db_host", target: "smoke", input: "urls" });
    expect(fromInput.ok).toBe(false);
    if (!fromInput.ok) expect(fromInput.message).toContain("not an output");
    const toOutput = connect(web(), { source: "db", param: "port", target: "web", input: "url" });
    expect(toOutput.ok).toBe(false);
    if (!toOutput.ok) expect(toOutput.message).toContain("not an input");
  });

  it("refuses a self-wire, even from a built-in", () => {
    for (const param of ["url", "hostname"]) {
      const r = connect(web(), { source: "web", param, target: "web", input: "db_host" });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toContain("itself");
    }
  });

  it("keeps one wire per input: a new wire replaces the old one", () => {
    const r = expectOk(connect(web(), { source: "db", param: "instance_id", target: "web", input: "db_host" }));
    expect(r.replaced).toBe("db.hostname");
    const inputs = r.recipe.deployment.nodes.web!.inputs!;
    expect(inputs.db_host).toEqual({ from: "db.instance_id" });
    expect(Object.keys(inputs)).toEqual(["db_host", "db_port"]);
  });

  it("refuses a cycle of recipe-output wires and names it", () => {
    // db.port → web already; web.url → db would make db wait for web and web for db.
    let recipe = web();
    recipe.components!["kv-database"]!.inputs!.peer = {};
    const r = connect(recipe, { source: "web", param: "url", target: "db", input: "peer" });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/^wire cycle: web → db → web/);

    // A longer one: smoke.done → db closes db → web → smoke → db.
    recipe.components!["smoke-test"]!.outputs = { done: {} };
    const long = connect(recipe, { source: "smoke", param: "done", target: "db", input: "peer" });
    expect(long.ok).toBe(false);
    if (!long.ok) expect(long.message).toContain("wire cycle: smoke → db → web → smoke");
    recipe = disconnect(recipe, "web", "db_port");
    expect(connect(recipe, { source: "web", param: "url", target: "db", input: "peer" }).ok).toBe(true);
  });

  it("lets built-in wires run both ways: they never close a cycle", () => {
    const recipe = web();
    recipe.components!["kv-database"]!.inputs!.peer = {};
    const r = expectOk(connect(recipe, { source: "web", param: "hostname", target: "db", input: "peer" }));
    expect(r.recipe.deployment.nodes.db!.inputs!.peer).toEqual({ from: "web.hostname" });
    // and a recipe output may go back along a built-in wire
    const back = expectOk(connect(r.recipe, { source: "db", param: "port", target: "web", input: "db_host" }));
    expect(back.recipe.deployment.nodes.web!.inputs!.db_host).toEqual({ from: "db.port" });
  });

  it("replacing the wire that closed a path is not a cycle", () => {
    const recipe = web();
    recipe.components!.web!.outputs!.again = {};
    // web.db_port currently reads db.port; rewiring that same input never cycles through itself.
    expect(connectProblem(recipe, { source: "db", param: "port", target: "web", input: "db_port" })).toBeNull();
  });
});
