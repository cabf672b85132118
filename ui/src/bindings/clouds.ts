// Generated from the Rust types of crates/slipway-clouds by its `generated` test. Do not edit:
// run `UPDATE_EXPECT=1 cargo test -p slipway-clouds --test generated` instead.

export type SettingInfo = { name: string, secret: boolean, required: boolean, default: string | null, description: string, };

export type KindInfo = { kind: string, 
/**
 * Whether this build can run clouds of this kind (others can be configured already).
 */
runnable: boolean, settings: Array<SettingInfo>, };

export type SecretState = "stored_in_keychain" | "missing" | "keychain_unavailable";

export type SecretView = { name: string, state: SecretState, };

export type CloudView = { name: string, kind: string, built_in: boolean, 
/**
 * Whether this build can run it.
 */
runnable: boolean, settings: Record<string, unknown>, 
/**
 * Every secret setting of the kind, in declaration order.
 */
secrets: Array<SecretView>, };

export type CloudTest = { cloud: string, ok: boolean, 
/**
 * The driver's error kind (`bad_settings`, `auth`, …), or `unavailable` when no driver
 * could be built.
 */
kind: string | null, 
/**
 * The error; on success, what answered when the driver says (an engine's version).
 */
message: string | null, };
