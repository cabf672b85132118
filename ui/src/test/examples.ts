// Test support: the example recipe files of assets/examples, parsed with the `yaml` package.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import type { Recipe } from "../bindings/recipe";

export const EXAMPLES = ["hello", "multiline-outputs", "web-with-db"] as const;

export function example(name: (typeof EXAMPLES)[number]): Recipe {
  const url = new URL(`../../../assets/examples/${name}.slipway.yaml`, import.meta.url);
  return parse(readFileSync(fileURLToPath(url), "utf8")) as Recipe;
}
