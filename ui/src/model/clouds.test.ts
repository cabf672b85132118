import { describe, expect, it } from "vitest";
import type { CloudView, KindInfo } from "../api-types";
import { cloudStatus, formFields, openSshWarning, secretLabel, splitForm, valuesOf } from "./clouds";

const ec2: KindInfo = {
  kind: "ec2",
  runnable: false,
  settings: [
    { name: "endpoint", secret: false, required: false, default: null, description: "api" },
    { name: "region", secret: false, required: true, default: null, description: "region" },
    { name: "secret_access_key", secret: true, required: false, default: null, description: "key" },
  ],
};

describe("clouds form", () => {
  it("shows required settings first and secrets last", () => {
    expect(formFields(ec2).map((s) => s.name)).toEqual(["region", "endpoint", "secret_access_key"]);
    expect(formFields(undefined)).toEqual([]);
  });

  it("sends plain settings to the store and secrets to the keychain, never mixed", () => {
    const { settings, secrets } = splitForm(ec2, { region: " eu-west-1 ", endpoint: "", secret_access_key: "s3cr3t" });
    expect(settings).toEqual([["region", "eu-west-1"]]);
    expect(secrets).toEqual([["secret_access_key", "s3cr3t"]]);
  });

  it("reads a cloud back without its secrets", () => {
    const cloud: CloudView = {
      name: "aws",
      kind: "ec2",
      built_in: false,
      runnable: false,
      settings: { region: "eu-west-1" },
      secrets: [{ name: "secret_access_key", state: "stored_in_keychain" }],
    };
    expect(valuesOf(cloud)).toEqual({ region: "eu-west-1" });
    expect(cloud.secrets.map((s) => secretLabel(s.state))).toEqual(["stored in keychain"]);
    expect(cloudStatus(cloud)).toBe("configured; this build cannot run it yet");
    expect(cloudStatus({ ...cloud, runnable: true, secrets: [{ name: "k", state: "missing" }] })).toBe("configured; 1 secret missing");
  });

  it("warns about an ec2 cloud whose SSH port is open to everyone", () => {
    const cloud: CloudView = {
      name: "aws",
      kind: "ec2",
      built_in: false,
      runnable: true,
      settings: { region: "eu-west-1" },
      secrets: [],
    };
    expect(openSshWarning(cloud)).toContain("0.0.0.0/0");
    expect(openSshWarning({ ...cloud, settings: { region: "eu-west-1", ssh_cidr: "203.0.113.7/32" } })).toBeNull();
    expect(openSshWarning({ ...cloud, kind: "ssh", settings: {} })).toBeNull();
  });
});
