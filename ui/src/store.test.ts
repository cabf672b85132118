import { describe, expect, it } from "vitest";
import { createDesignerStore } from "./store";
import { example } from "./test/examples";
import { connect, setMultiplicity } from "./model/edits";

function opened() {
  const store = createDesignerStore();
  store.getState().load(example("web-with-db"), { name: "web-with-db", version: 1 });
  return store;
}

describe("undo / redo", () => {
  it("undoes and redoes each edit as one step", () => {
    const store = opened();
    const original = store.getState().doc;
    const s = store.getState();
    s.apply(setMultiplicity(s.doc, "web", 3));
    store.getState().apply(connect(store.getState().doc, { source: "db", param: "port", target: "smoke", input: "db_host" }));
    expect(store.getState().past).toHaveLength(2);

    store.getState().undo();
    expect(store.getState().doc.deployment.nodes.smoke!.inputs!.db_host).toEqual({ from: "db.hostname" });
    expect(store.getState().doc.deployment.nodes.web!.multiplicity).toBe(3);
    store.getState().undo();
    expect(store.getState().doc).toEqual(original);
    store.getState().undo(); // nothing left: no change
    expect(store.getState().doc).toEqual(original);

    store.getState().redo();
    store.getState().redo();
    expect(store.getState().doc.deployment.nodes.smoke!.inputs!.db_host).toEqual({ from: "db.port" });
    expect(store.getState().future).toHaveLength(0);
  });

  it("clears redo when a new edit is made", () => {
    const store = opened();
    store.getState().apply(setMultiplicity(store.getState().doc, "web", 3));
    store.getState().undo();
    expect(store.getState().future).toHaveLength(1);
    store.getState().apply(setMultiplicity(store.getState().doc, "db", 2));
    expect(store.getState().future).toHaveLength(0);
    store.getState().redo();
    expect(store.getState().doc.deployment.nodes.web!.multiplicity).toBe(2);
    expect(store.getState().doc.deployment.nodes.db!.multiplicity).toBe(2);
  });

  it("commits a drag once, on drag stop", () => {
    const store = opened();
    store.getState().moveNodes({ web: { x: 400, y: 300 }, smoke: { x: 700, y: 300 } });
    expect(store.getState().past).toHaveLength(1);
    expect(store.getState().doc.layout!.web).toEqual({ x: 400, y: 300 });
    store.getState().undo();
    expect(store.getState().doc.layout!.web).toEqual({ x: 340, y: 120 });
    expect(store.getState().doc.layout!.smoke).toEqual({ x: 640, y: 120 });
  });

  it("a no-op edit is not a step, and typing in one field is one step", () => {
    const store = opened();
    store.getState().commit(store.getState().doc);
    expect(store.getState().past).toHaveLength(0);
    for (const d of ["A", "AB", "ABC"]) {
      store.getState().commit({ ...store.getState().doc, description: d }, { coalesce: "description" });
    }
    expect(store.getState().past).toHaveLength(1);
    store.getState().undo();
    expect(store.getState().doc.description).toBe(example("web-with-db").description);
  });

  it("opening a document starts a fresh history", () => {
    const store = opened();
    store.getState().apply(setMultiplicity(store.getState().doc, "web", 3));
    store.getState().load(example("hello"));
    expect(store.getState().past).toHaveLength(0);
    expect(store.getState().doc.name).toBe("hello");
  });

  it("deletes the selection (nodes and their wires) as one step, undone together", () => {
    const store = opened();
    store.getState().setSelection(["db"], []);
    store.getState().deleteSelected();
    const doc = store.getState().doc;
    expect(Object.keys(doc.deployment.nodes)).toEqual(["web", "smoke"]);
    expect(doc.deployment.nodes.web!.inputs).toEqual({});
    expect(doc.deployment.nodes.smoke!.inputs).toEqual({ urls: { from: "web.url" } });
    expect(doc.layout!.db).toBeUndefined();
    store.getState().undo();
    expect(store.getState().doc).toEqual(example("web-with-db"));
  });

  it("copies and pastes through the store with fresh names, selecting the pasted nodes", () => {
    const store = opened();
    store.getState().setSelection(["db", "web"], []);
    expect(store.getState().copySelection()).toBe(2);
    const names = store.getState().pasteClipboard();
    expect(names).toEqual(["db-2", "web-2"]);
    expect(store.getState().selection.nodes).toEqual(["db-2", "web-2"]);
    expect(store.getState().past).toHaveLength(1);
    expect(store.getState().pasteClipboard()).toEqual(["db-3", "web-3"]);
  });
});
