import { describe, expect, it } from "vitest";
import { autoLayout, estimateSize, overlaps } from "./layout";
import { EXAMPLES, example } from "../test/examples";

describe("auto-layout", () => {
  it("is pure and deterministic", () => {
    const recipe = example("web-with-db");
    const before = JSON.stringify(recipe);
    const a = autoLayout(recipe);
    const b = autoLayout(example("web-with-db"));
    expect(a).toEqual(b);
    expect(JSON.stringify(recipe)).toBe(before);
  });

  it("places every node of web-with-db without overlaps, wires flowing left to right", () => {
    const recipe = example("web-with-db");
    const pos = autoLayout(recipe);
    const names = Object.keys(recipe.deployment.nodes);
    expect(Object.keys(pos).sort()).toEqual([...names].sort());
    for (const a of names)
      for (const b of names)
        if (a < b) expect(overlaps(pos[a]!, estimateSize(recipe, a), pos[b]!, estimateSize(recipe, b))).toBe(false);
    expect(pos.db!.x).toBeLessThan(pos.web!.x);
    expect(pos.web!.x).toBeLessThan(pos.smoke!.x);
  });

  it("uses measured sizes when given and lays out every example", () => {
    for (const name of EXAMPLES) {
      const recipe = example(name);
      const sizes = Object.fromEntries(Object.keys(recipe.deployment.nodes).map((n) => [n, { width: 300, height: 400 }]));
      const pos = autoLayout(recipe, { sizes });
      const names = Object.keys(pos);
      for (const a of names)
        for (const b of names)
          if (a < b) expect(overlaps(pos[a]!, sizes[a]!, pos[b]!, sizes[b]!)).toBe(false);
      for (const p of Object.values(pos)) {
        expect(Number.isInteger(p.x) && Number.isInteger(p.y)).toBe(true);
      }
    }
  });
});
