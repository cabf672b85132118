import { describe, expect, it } from "vitest";
import { targetOfPath } from "./paths";

describe("problem paths", () => {
  it("finds the node, component or image a problem is about", () => {
    expect(targetOfPath("deployment.nodes.web.inputs.db_host")).toEqual({ kind: "node", name: "web" });
    expect(targetOfPath("deployment.nodes.web-2")).toEqual({ kind: "node", name: "web-2" });
    expect(targetOfPath("layout.ghost")).toEqual({ kind: "node", name: "ghost" });
    expect(targetOfPath("components.web.recipes.deployment")).toEqual({ kind: "component", name: "web" });
    expect(targetOfPath("images.debian-12.clouds.ec2")).toEqual({ kind: "image", name: "debian-12" });
    expect(targetOfPath("deployment.keep_running")).toEqual({ kind: "deployment" });
    expect(targetOfPath("")).toEqual({ kind: "deployment" });
  });
});
