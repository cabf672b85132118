// Small dialogs of the toolbar: save with a comment, and the keyboard shortcuts list.

import { useState } from "react";
import { saveDeployment } from "../actions";
import { useDesigner } from "../store";
import { SHORTCUTS, showKeys } from "../shortcuts";
import { Dialog } from "./Dialog";

export function SaveDialog({ onClose }: { onClose: () => void }) {
  const name = useDesigner((s) => s.doc.name);
  const [comment, setComment] = useState("");
  const save = () => {
    onClose();
    void saveDeployment(comment.trim() || undefined);
  };
  return (
    <Dialog
      title={`Save ${name}`}
      onClose={onClose}
      testId="save-dialog"
      footer={
        <>
          <button className="sw-btn" onClick={onClose}>
            Cancel
          </button>
          <button className="sw-btn sw-btn--primary" onClick={save} data-testid="save-confirm">
            Save new version
          </button>
        </>
      }
    >
      <p className="sw-muted">The deployment and every component or image you changed are saved as new versions.</p>
      <input
        className="sw-input"
        autoFocus
        placeholder="What changed? (optional)"
        value={comment}
        onChange={(e) => setComment(e.target.value)}
        onKeyDown={(e) => e.key === "Enter" && save()}
        data-testid="save-comment"
        aria-label="Version comment"
      />
    </Dialog>
  );
}

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-dialog">
      <table className="sw-shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.id}>
              <td>{s.label}</td>
              <td>
                {s.keys.map((k, i) => (
                  <span key={k}>
                    {i > 0 ? <span className="sw-muted"> or </span> : null}
                    <kbd>{showKeys(k)}</kbd>
                  </span>
                ))}
              </td>
            </tr>
          ))}
          <tr>
            <td>Select several nodes</td>
            <td>
              <kbd>Shift</kbd>+click, or <kbd>Shift</kbd>+drag a box
            </td>
          </tr>
        </tbody>
      </table>
    </Dialog>
  );
}
