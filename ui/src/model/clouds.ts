// The Clouds page's form, as pure functions over a kind's declaration (crates/slipway-clouds):
// which fields to show and what to send. Never: call the Rust side or hold UI state.

import type { CloudView, KindInfo, SecretState, SettingInfo } from "../api-types";

/** What the user typed, by setting name. */
export type FormValues = Record<string, string>;

/** The fields of a kind: plain settings first (required ones first), then secrets. */
export function formFields(kind: KindInfo | undefined): SettingInfo[] {
  if (!kind) return [];
  const plain = kind.settings.filter((s) => !s.secret);
  const required = plain.filter((s) => s.required);
  const optional = plain.filter((s) => !s.required);
  return [...required, ...optional, ...kind.settings.filter((s) => s.secret)];
}

/** The values of an existing cloud, to edit it (secrets are never read back: they start empty). */
export function valuesOf(cloud: CloudView): FormValues {
  const values: FormValues = {};
  for (const [k, v] of Object.entries(cloud.settings)) values[k] = typeof v === "string" ? v : JSON.stringify(v);
  return values;
}

/** What to send: the non-empty plain settings to `cloud_save`, the non-empty secrets to the keychain. */
export function splitForm(kind: KindInfo, values: FormValues): { settings: [string, string][]; secrets: [string, string][] } {
  const settings: [string, string][] = [];
  const secrets: [string, string][] = [];
  for (const s of kind.settings) {
    const v = values[s.name] ?? "";
    if (v === "") continue;
    (s.secret ? secrets : settings).push([s.name, s.secret ? v : v.trim()]);
  }
  return { settings, secrets };
}

/** How a secret's state reads on the page (the same words as `slipway clouds list`). */
export function secretLabel(state: SecretState): string {
  switch (state) {
    case "stored_in_keychain":
      return "stored in keychain";
    case "missing":
      return "missing";
    case "keychain_unavailable":
      return "keychain unavailable";
  }
}

/** A cloud's status line: built in, runnable, or configured for a driver this build lacks. */
export function cloudStatus(cloud: CloudView): string {
  if (cloud.built_in) return "built in, ready";
  if (!cloud.runnable) return "configured; this build cannot run it yet";
  const missing = cloud.secrets.filter((s) => s.state === "missing").length;
  return missing ? `configured; ${missing} secret${missing === 1 ? "" : "s"} missing` : "configured";
}

/** For an `ec2` cloud without `ssh_cidr`: every instance's port 22 is open to the internet. */
export function openSshWarning(cloud: CloudView): string | null {
  if (cloud.kind !== "ec2") return null;
  const cidr = cloud.settings["ssh_cidr"];
  if (typeof cidr === "string" && cidr.trim() !== "") return null;
  return "ssh_cidr is not set: port 22 of every instance is open to 0.0.0.0/0. Set it to the addresses this machine connects from.";
}
