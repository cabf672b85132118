import { describe, expect, it } from "vitest";
import { flowToRecipe, recipeToFlow } from "./mapping";
import { EXAMPLES, example } from "../test/examples";
import type { DiagnosticView } from "../bindings/recipe";

describe("document ↔ canvas mapping", () => {
  for (const name of EXAMPLES) {
    it(`round-trips ${name}: recipe → nodes/edges → the same recipe`, () => {
      const recipe = example(name);
      const { nodes, edges } = recipeToFlow(recipe);
      const back = flowToRecipe(recipe, nodes, edges);
      expect(back).toEqual(recipe);
      expect(JSON.stringify(back)).toBe(JSON.stringify(recipe)); // key order too
    });
  }

  it("makes a node per deployment node and an edge per wire, port to port", () => {
    const { nodes, edges } = recipeToFlow(example("web-with-db"));
    expect(nodes.map((n) => n.id)).toEqual(["db", "web", "smoke"]);
    expect(nodes[1]!.position).toEqual({ x: 340, y: 120 });
    expect(edges.map((e) => [e.source, e.sourceHandle, e.target, e.targetHandle])).toEqual([
      ["db", "out:hostname", "web", "in:db_host"],
      ["db", "out:port", "web", "in:db_port"],
      ["web", "out:url", "smoke", "in:urls"],
      ["db", "out:hostname", "smoke", "in:db_host"],
    ]);
    const web = nodes[1]!.data;
    expect(web.inputs.map((p) => [p.name, p.required, p.wired])).toEqual([
      ["db_host", true, true],
      ["db_port", false, true],
    ]);
    expect(web.outputs.map((p) => p.name)).toEqual(["url", "hostname", "instance_id", "index", "node", "cloud"]);
    expect(nodes[0]!.data.inputs[0]).toMatchObject({ name: "db_password", secret: true, hasValue: true });
  });

  it("labels a node.N.param wire with its instance and maps it back", () => {
    const recipe = example("multiline-outputs");
    const { nodes, edges } = recipeToFlow(recipe);
    const one = edges.find((e) => e.targetHandle === "in:ca_cert")!;
    expect(one.label).toBe("#1");
    expect(one.sourceHandle).toBe("out:ca_cert");
    expect(flowToRecipe(recipe, nodes, edges).deployment.nodes.client!.inputs!.ca_cert).toEqual({ from: "ca.1.ca_cert" });
    // nodes the document did not place keep no layout entry
    expect(nodes.every((n) => !n.data.placed)).toBe(true);
  });

  it("keeps wires to missing nodes and unknown parameters visible and round-trips them", () => {
    const recipe = example("web-with-db");
    recipe.deployment.nodes.smoke!.inputs!.urls = { from: "ghost.url" };
    recipe.deployment.nodes.web!.inputs!.db_port = { from: "db.nope" };
    const { nodes, edges } = recipeToFlow(recipe);
    expect(edges.some((e) => e.source === "ghost")).toBe(false);
    expect(nodes[0]!.data.outputs.find((p) => p.name === "nope")?.state).toBe("unknown");
    expect(flowToRecipe(recipe, nodes, edges)).toEqual(recipe);
  });

  it("attaches problems to the nodes they are about", () => {
    const problem = (path: string): DiagnosticView => ({
      severity: "error", code: "unconnected-input", message: "m", hint: null, path, line: null, column: null,
    });
    const { nodes } = recipeToFlow(example("web-with-db"), {
      problems: [problem("deployment.nodes.web.inputs.db_host"), problem("components.smoke-test.recipes.deployment")],
    });
    expect(nodes.map((n) => n.data.issues.length)).toEqual([0, 1, 1]);
  });

  it("reflects moved nodes in the layout", () => {
    const recipe = example("hello");
    const { nodes, edges } = recipeToFlow(recipe);
    nodes[0]!.position = { x: 5, y: 6 };
    expect(flowToRecipe(recipe, nodes, edges).layout).toEqual({ hello: { x: 5, y: 6 } });
  });
});
