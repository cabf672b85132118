import { describe, expect, it } from "vitest";
import { commandOf } from "./shortcuts";

const key = (k: string, code: string, mods: Partial<Record<"ctrlKey" | "metaKey" | "shiftKey" | "altKey", boolean>> = {}) => ({
  key: k, code, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods,
});

describe("keyboard shortcuts", () => {
  it("maps the documented keys", () => {
    expect(commandOf(key("z", "KeyZ", { ctrlKey: true }))).toBe("undo");
    expect(commandOf(key("Z", "KeyZ", { ctrlKey: true, shiftKey: true }))).toBe("redo");
    expect(commandOf(key("y", "KeyY", { ctrlKey: true }))).toBe("redo");
    expect(commandOf(key("z", "KeyZ", { metaKey: true }))).toBe("undo");
    expect(commandOf(key("Delete", "Delete"))).toBe("delete");
    expect(commandOf(key("Backspace", "Backspace"))).toBe("delete");
    expect(commandOf(key("c", "KeyC", { ctrlKey: true }))).toBe("copy");
    expect(commandOf(key("v", "KeyV", { ctrlKey: true }))).toBe("paste");
    expect(commandOf(key("a", "KeyA", { ctrlKey: true }))).toBe("selectAll");
    expect(commandOf(key("s", "KeyS", { ctrlKey: true }))).toBe("save");
    expect(commandOf(key("o", "KeyO", { ctrlKey: true }))).toBe("import");
    expect(commandOf(key("e", "KeyE", { ctrlKey: true }))).toBe("export");
    expect(commandOf(key("L", "KeyL", { shiftKey: true }))).toBe("layout");
    expect(commandOf(key("!", "Digit1", { shiftKey: true }))).toBe("fit");
    expect(commandOf(key("l", "KeyL"))).toBeNull();
    expect(commandOf(key("F1", "F1"))).toBe("help");
    expect(commandOf(key("F1", "F1", { ctrlKey: true }))).toBeNull();
  });
});
