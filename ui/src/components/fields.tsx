// Form fields that edit the document: they keep a draft while typing and commit once, on Enter
// or when they lose focus, so each change is one undoable step.

import { useEffect, useState, type ReactNode } from "react";

export function TextField(props: {
  value: string;
  onCommit: (value: string) => boolean | void;
  placeholder?: string;
  testId: string;
  ariaLabel: string;
  multiline?: boolean;
  mono?: boolean;
  type?: "text" | "number";
  min?: number;
  list?: string;
  disabled?: boolean;
}) {
  const [draft, setDraft] = useState(props.value);
  useEffect(() => setDraft(props.value), [props.value]);
  const commit = () => {
    if (draft === props.value) return;
    if (props.onCommit(draft) === false) setDraft(props.value);
  };
  const common = {
    value: draft,
    placeholder: props.placeholder,
    "aria-label": props.ariaLabel,
    "data-testid": props.testId,
    disabled: props.disabled,
    className: `sw-input${props.mono ? " is-mono" : ""}`,
    onBlur: commit,
  };
  if (props.multiline) {
    return (
      <textarea
        {...common}
        rows={3}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) commit();
          if (e.key === "Escape") setDraft(props.value);
        }}
      />
    );
  }
  return (
    <input
      {...common}
      type={props.type ?? "text"}
      min={props.min}
      list={props.list}
      spellCheck={false}
      onChange={(e) => setDraft(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter") commit();
        if (e.key === "Escape") setDraft(props.value);
      }}
    />
  );
}

export function Row(props: { label: ReactNode; children: ReactNode; hint?: ReactNode; htmlFor?: string }) {
  return (
    <div className="sw-row">
      <label className="sw-row__label" htmlFor={props.htmlFor}>
        {props.label}
      </label>
      <div className="sw-row__field">
        {props.children}
        {props.hint ? <div className="sw-row__hint">{props.hint}</div> : null}
      </div>
    </div>
  );
}

export function Section(props: { title: ReactNode; children: ReactNode; actions?: ReactNode; testId?: string }) {
  return (
    <section className="sw-section" data-testid={props.testId}>
      <header className="sw-section__header">
        <h3>{props.title}</h3>
        {props.actions ? <div className="sw-section__actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}
