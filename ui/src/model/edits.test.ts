import { describe, expect, it } from "vitest";
import {
  addNodeFromComponent,
  addNodeFromImage,
  clearInput,
  copyNodes,
  deleteSelection,
  paste,
  renameComponentOutput,
  renameNode,
  setInputValue,
  setMultiplicity,
} from "./edits";
import { example } from "../test/examples";

describe("copy / paste", () => {
  it("gives pasted nodes fresh names and offset positions, keeping wires among them", () => {
    const recipe = example("web-with-db");
    const clip = copyNodes(recipe, ["db", "web"])!;
    const r = paste(recipe, clip, { x: 40, y: 40 });
    if (!r.ok) throw new Error(r.message);
    expect(r.names).toEqual(["db-2", "web-2"]);
    const nodes = r.recipe.deployment.nodes;
    expect(nodes["web-2"]!.inputs).toEqual({
      db_host: { from: "db-2.hostname" },
      db_port: { from: "db-2.port" },
    });
    expect(nodes["web-2"]!.multiplicity).toBe(2);
    expect(r.recipe.layout!["db-2"]).toEqual({ x: 80, y: 160 });
    expect(r.recipe.layout!["web-2"]).toEqual({ x: 380, y: 160 });
    // the originals are untouched
    expect(nodes.web!.inputs).toEqual(recipe.deployment.nodes.web!.inputs);
    expect(recipe.deployment.nodes["web-2"]).toBeUndefined();
  });

  it("keeps wires to nodes outside the clipboard that exist, drops those that do not", () => {
    const recipe = example("web-with-db");
    const clip = copyNodes(recipe, ["smoke"])!;
    const here = paste(recipe, clip);
    if (!here.ok) throw new Error(here.message);
    expect(here.recipe.deployment.nodes["smoke-2"]!.inputs).toEqual({
      urls: { from: "web.url" },
      db_host: { from: "db.hostname" },
    });
    // into another deployment: the component and image come along, dangling wires do not
    const elsewhere = paste(example("hello"), clip);
    if (!elsewhere.ok) throw new Error(elsewhere.message);
    expect(elsewhere.recipe.deployment.nodes.smoke!.inputs).toEqual({});
    expect(elsewhere.recipe.components!["smoke-test"]).toBeDefined();
    expect(elsewhere.recipe.images!["debian-12"]).toBeDefined();
  });

  it("keeps node.N.param wires among pasted nodes", () => {
    const recipe = example("multiline-outputs");
    const r = paste(recipe, copyNodes(recipe, ["ca", "client"])!);
    if (!r.ok) throw new Error(r.message);
    expect(r.recipe.deployment.nodes["client-2"]!.inputs).toEqual({
      ca_cert: { from: "ca-2.1.ca_cert" },
      fingerprint: { from: "ca-2.fingerprint" },
    });
  });
});

describe("rename", () => {
  it("rewrites every wire and the layout entry, keeping node order", () => {
    const r = renameNode(example("web-with-db"), "db", "database");
    if (!r.ok) throw new Error(r.message);
    expect(Object.keys(r.recipe.deployment.nodes)).toEqual(["database", "web", "smoke"]);
    expect(r.recipe.deployment.nodes.web!.inputs).toEqual({
      db_host: { from: "database.hostname" },
      db_port: { from: "database.port" },
    });
    expect(r.recipe.deployment.nodes.smoke!.inputs!.db_host).toEqual({ from: "database.hostname" });
    expect(r.recipe.layout).toEqual({ database: { x: 40, y: 120 }, web: { x: 340, y: 120 }, smoke: { x: 640, y: 120 } });
  });

  it("rewrites node.N.param wires", () => {
    const r = renameNode(example("multiline-outputs"), "ca", "authority");
    if (!r.ok) throw new Error(r.message);
    expect(r.recipe.deployment.nodes.client!.inputs!.ca_cert).toEqual({ from: "authority.1.ca_cert" });
  });

  it("refuses a taken or invalid name", () => {
    expect(renameNode(example("web-with-db"), "db", "web").ok).toBe(false);
    expect(renameNode(example("web-with-db"), "db", "Bad Name").ok).toBe(false);
  });

  it("renaming a component output rewrites the wires that read it", () => {
    const r = renameComponentOutput(example("web-with-db"), "kv-database", "port", "tcp_port");
    if (!r.ok) throw new Error(r.message);
    expect(r.recipe.deployment.nodes.web!.inputs!.db_port).toEqual({ from: "db.tcp_port" });
  });
});

describe("adding and changing nodes", () => {
  it("adds a node from a component at the drop position under a unique name", () => {
    const recipe = example("web-with-db");
    const r = addNodeFromComponent(recipe, { component: "web", position: { x: 10.4, y: 20.6 } });
    if (!r.ok) throw new Error(r.message);
    expect(r.name).toBe("web-2");
    expect(r.recipe.deployment.nodes["web-2"]).toEqual({ component: "web" });
    expect(r.recipe.layout!["web-2"]).toEqual({ x: 10, y: 21 });
  });

  it("brings a library component and its image into the document", () => {
    const hello = example("hello");
    const web = example("web-with-db");
    const r = addNodeFromComponent(hello, {
      component: "web",
      definition: web.components!.web!,
      image: { name: "debian-12", body: web.images!["debian-12"]! },
      position: { x: 0, y: 0 },
    });
    if (!r.ok) throw new Error(r.message);
    expect(r.recipe.components!.web).toEqual(web.components!.web);
    expect(r.recipe.images!["debian-12"]).toEqual(web.images!["debian-12"]);
  });

  it("adds a bare machine from an image", () => {
    const r = addNodeFromImage(example("hello"), { image: "base", position: { x: 0, y: 0 } });
    if (!r.ok) throw new Error(r.message);
    expect(r.component).toBe("base-machine");
    expect(r.recipe.components!["base-machine"]!.image).toBe("base");
    expect(r.recipe.components!["base-machine"]!.recipes).toBeUndefined();
    expect(r.recipe.deployment.nodes["base-machine"]).toEqual({ component: "base-machine" });
    const again = addNodeFromImage(r.recipe, { image: "base", position: { x: 0, y: 0 } });
    if (!again.ok) throw new Error(again.message);
    expect(again.component).toBe("base-machine");
    expect(again.name).toBe("base-machine-2");
  });

  it("sets multiplicity (1 is the default and is not written)", () => {
    const r = setMultiplicity(example("web-with-db"), "web", 1);
    if (!r.ok) throw new Error(r.message);
    expect(r.recipe.deployment.nodes.web!.multiplicity).toBeUndefined();
    expect(setMultiplicity(example("web-with-db"), "web", 0).ok).toBe(false);
  });

  it("never writes a secret value into the document", () => {
    const r = setInputValue(example("web-with-db"), "db", "db_password", "hunter2");
    expect(r.ok).toBe(false);
    const ok = setInputValue(example("web-with-db"), "web", "db_port", "6543");
    if (!ok.ok) throw new Error(ok.message);
    expect(ok.recipe.deployment.nodes.web!.inputs!.db_port).toBe("6543");
  });

  it("clears a secret value found in a file", () => {
    const recipe = example("web-with-db");
    recipe.deployment.nodes.db!.inputs = { db_password: "leaked" };
    expect(clearInput(recipe, "db", "db_password").deployment.nodes.db!.inputs).toBeUndefined();
  });

  it("deleting a node removes the wires that read from it", () => {
    const next = deleteSelection(example("multiline-outputs"), { nodes: ["ca"], wires: [] });
    expect(next.deployment.nodes.client!.inputs).toEqual({});
  });
});
