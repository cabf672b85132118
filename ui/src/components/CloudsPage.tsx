// The Clouds page (SPEC §7): every cloud with its kind and status, a form generated from the
// kind's declared settings, secrets written straight to the OS keychain and shown as "stored in
// keychain", Test connection with the driver's exact error, and a banner when no keychain answers.
// Never: keep a secret after it is sent, or show one.

import { useCallback, useEffect, useState } from "react";
import { cloudRemove, cloudSave, cloudSecretSet, cloudsList, cloudTest, confirmDialog, toCommandError } from "../api";
import type { CloudsListing, CloudTest, CloudView } from "../api-types";
import { cloudStatus, formFields, openSshWarning, secretLabel, splitForm, valuesOf, type FormValues } from "../model/clouds";

type Editing = { name: string; kind: string; values: FormValues; replace: boolean };

export function CloudsPage(props: { onClose: () => void }) {
  const [listing, setListing] = useState<CloudsListing | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [tests, setTests] = useState<Record<string, CloudTest | "running">>({});
  const [rowError, setRowError] = useState<Record<string, string>>({});

  const reload = useCallback(async () => {
    try {
      setListing(await cloudsList());
      setLoadError(null);
    } catch (e) {
      setLoadError(toCommandError(e).message);
    }
  }, []);
  useEffect(() => void reload(), [reload]);

  const kind = listing?.kinds.find((k) => k.kind === editing?.kind);

  const save = async () => {
    if (!editing || !kind) return;
    setBusy(true);
    setFormError(null);
    const { settings, secrets } = splitForm(kind, editing.values);
    try {
      await cloudSave({ name: editing.name, kind: editing.kind, settings, replace: editing.replace });
      for (const [key, value] of secrets) await cloudSecretSet({ cloud: editing.name, key, value });
      setEditing(null);
    } catch (e) {
      setFormError(toCommandError(e).message);
      // When the settings were saved and a secret failed, the cloud exists: edit it from here on.
      const fresh = await cloudsList().catch(() => null);
      if (fresh?.clouds.some((c) => c.name === editing.name && !c.built_in)) setEditing({ ...editing, replace: true });
    } finally {
      setBusy(false);
      await reload();
    }
  };

  const remove = async (cloud: CloudView) => {
    if (!(await confirmDialog(`Remove the cloud "${cloud.name}" and its keychain entries?`))) return;
    try {
      await cloudRemove({ name: cloud.name });
      setRowError((r) => ({ ...r, [cloud.name]: "" }));
    } catch (e) {
      setRowError((r) => ({ ...r, [cloud.name]: toCommandError(e).message }));
    }
    await reload();
  };

  const test = async (name: string) => {
    setTests((t) => ({ ...t, [name]: "running" }));
    try {
      const result = await cloudTest({ name });
      setTests((t) => ({ ...t, [name]: result }));
    } catch (e) {
      const err = toCommandError(e);
      setTests((t) => ({ ...t, [name]: { cloud: name, ok: false, kind: err.code, message: err.message } }));
    }
  };

  const startAdd = () => {
    setFormError(null);
    setEditing({ name: "", kind: listing?.kinds.find((k) => k.kind !== "local")?.kind ?? "ssh", values: {}, replace: false });
  };

  return (
    <div className="sw-clouds" data-testid="clouds-page" role="region" aria-label="Clouds">
      <header className="sw-clouds__head">
        <h1>Clouds</h1>
        <div className="sw-toolbar__spacer" />
        <button className="sw-btn sw-btn--primary" onClick={startAdd} data-testid="cloud-add">
          Add cloud
        </button>
        <button className="sw-btn" onClick={props.onClose} data-testid="clouds-close">
          Back to the designer
        </button>
      </header>
      {listing?.keychain_error ? (
        <div className="sw-clouds__banner" role="alert" data-testid="keychain-banner">
          <strong>No keychain available.</strong> Secrets can only be stored in the OS keychain, never on disk.{" "}
          {listing.keychain_error}
        </div>
      ) : null}
      {loadError ? (
        <div className="sw-clouds__banner" role="alert">
          {loadError}
        </div>
      ) : null}
      <table className="sw-clouds__table" data-testid="clouds-table">
        <thead>
          <tr>
            <th>Name</th>
            <th>Kind</th>
            <th>Status</th>
            <th>Settings</th>
            <th>Secrets</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(listing?.clouds ?? []).map((c) => {
            const t = tests[c.name];
            return (
              <tr key={c.name} data-testid={`cloud-row-${c.name}`}>
                <td className="sw-clouds__name">{c.name}</td>
                <td>{c.kind}</td>
                <td>{cloudStatus(c)}</td>
                <td className="sw-clouds__mono">
                  {Object.entries(c.settings)
                    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
                    .join("  ") || "—"}
                  {openSshWarning(c) ? (
                    <div className="sw-clouds__warning" data-testid={`cloud-warning-${c.name}`}>
                      {openSshWarning(c)}
                    </div>
                  ) : null}
                </td>
                <td>
                  {c.secrets.length === 0
                    ? "—"
                    : c.secrets.map((s) => (
                        <div key={s.name} data-testid={`cloud-secret-${c.name}-${s.name}`} className={`sw-clouds__secret is-${s.state}`}>
                          {s.name}: {secretLabel(s.state)}
                        </div>
                      ))}
                </td>
                <td className="sw-clouds__actions">
                  <button className="sw-btn" onClick={() => void test(c.name)} disabled={t === "running"} data-testid={`cloud-test-${c.name}`}>
                    {t === "running" ? "Testing…" : "Test connection"}
                  </button>
                  {!c.built_in ? (
                    <>
                      <button
                        className="sw-btn"
                        data-testid={`cloud-edit-${c.name}`}
                        onClick={() => {
                          setFormError(null);
                          setEditing({ name: c.name, kind: c.kind, values: valuesOf(c), replace: true });
                        }}
                      >
                        Edit
                      </button>
                      <button className="sw-btn sw-btn--danger" onClick={() => void remove(c)} data-testid={`cloud-remove-${c.name}`}>
                        Remove
                      </button>
                    </>
                  ) : null}
                  {t && t !== "running" ? (
                    <div className={`sw-clouds__test ${t.ok ? "is-ok" : "is-error"}`} data-testid={`cloud-test-result-${c.name}`}>
                      {t.ok ? `Connection OK${t.message ? `: ${t.message}` : ""}` : `${t.message ?? "failed"}${t.kind ? ` (${t.kind})` : ""}`}
                    </div>
                  ) : null}
                  {rowError[c.name] ? (
                    <div className="sw-clouds__test is-error" data-testid={`cloud-error-${c.name}`}>
                      {rowError[c.name]}
                    </div>
                  ) : null}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>

      {editing && listing ? (
        <form
          className="sw-clouds__form"
          data-testid="cloud-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <h2>{editing.replace ? `Edit cloud “${editing.name}”` : "Add a cloud"}</h2>
          <label>
            <span>Name</span>
            <input
              value={editing.name}
              disabled={editing.replace}
              onChange={(e) => setEditing({ ...editing, name: e.target.value })}
              placeholder="lab"
              data-testid="cloud-form-name"
            />
          </label>
          <label>
            <span>Kind</span>
            <select
              value={editing.kind}
              disabled={editing.replace}
              onChange={(e) => setEditing({ ...editing, kind: e.target.value, values: {} })}
              data-testid="cloud-form-kind"
            >
              {listing.kinds
                .filter((k) => k.kind !== "local")
                .map((k) => (
                  <option key={k.kind} value={k.kind}>
                    {k.kind}
                    {k.runnable ? "" : " (cannot run in this build yet)"}
                  </option>
                ))}
            </select>
          </label>
          {formFields(kind).map((s) => {
            const stored = listing.clouds.find((c) => c.name === editing.name)?.secrets.find((x) => x.name === s.name)?.state;
            return (
              <label key={s.name}>
                <span>
                  {s.name}
                  {s.required ? " *" : ""}
                  {s.secret ? " (secret: goes to the OS keychain)" : ""}
                </span>
                <input
                  type={s.secret ? "password" : "text"}
                  autoComplete="off"
                  value={editing.values[s.name] ?? ""}
                  placeholder={s.secret && stored === "stored_in_keychain" ? "stored in keychain (type to replace)" : (s.default ?? "")}
                  onChange={(e) => setEditing({ ...editing, values: { ...editing.values, [s.name]: e.target.value } })}
                  data-testid={`cloud-field-${s.name}`}
                />
                <small>{s.description}</small>
              </label>
            );
          })}
          {formError ? (
            <div className="sw-clouds__test is-error" role="alert" data-testid="cloud-form-error">
              {formError}
            </div>
          ) : null}
          <div className="sw-clouds__formbuttons">
            <button type="submit" className="sw-btn sw-btn--primary" disabled={busy || !editing.name} data-testid="cloud-form-save">
              {busy ? "Saving…" : "Save"}
            </button>
            <button type="button" className="sw-btn" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </form>
      ) : null}
    </div>
  );
}
