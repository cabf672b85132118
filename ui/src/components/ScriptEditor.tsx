// A CodeMirror 6 editor for recipe scripts, with shell highlighting. Controlled: `value` from the
// document, `onChange` per edit (the caller coalesces typing into one undoable step).

import { useEffect, useRef } from "react";
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection, placeholder } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { HighlightStyle, StreamLanguage, syntaxHighlighting, bracketMatching, indentOnInput } from "@codemirror/language";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { tags as t } from "@lezer/highlight";

const highlight = HighlightStyle.define([
  { tag: t.keyword, color: "var(--code-keyword)" },
  { tag: [t.string, t.special(t.string)], color: "var(--code-string)" },
  { tag: t.comment, color: "var(--code-comment)", fontStyle: "italic" },
  { tag: [t.variableName, t.definition(t.variableName)], color: "var(--code-variable)" },
  { tag: [t.number, t.bool, t.atom], color: "var(--code-number)" },
  { tag: [t.operator, t.punctuation], color: "var(--code-operator)" },
  { tag: [t.standard(t.variableName), t.special(t.variableName)], color: "var(--code-builtin)" },
  { tag: t.attributeName, color: "var(--code-variable)" },
]);

const theme = EditorView.theme({
  "&": { fontSize: "12.5px", backgroundColor: "var(--code-bg)", color: "var(--code-fg)", borderRadius: "8px" },
  ".cm-content": { fontFamily: "var(--font-mono)", caretColor: "var(--accent)", padding: "8px 0" },
  ".cm-gutters": { backgroundColor: "var(--code-bg)", color: "var(--text-faint)", border: "none", borderRadius: "8px 0 0 8px" },
  ".cm-activeLine": { backgroundColor: "var(--code-active)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--code-active)" },
  "&.cm-focused": { outline: "2px solid var(--focus-ring)", outlineOffset: "0" },
  ".cm-selectionBackground, &.cm-focused .cm-selectionBackground": { backgroundColor: "var(--code-selection) !important" },
  ".cm-placeholder": { color: "var(--text-faint)" },
  ".cm-scroller": { overflow: "auto", maxHeight: "340px" },
});

export function ScriptEditor(props: {
  value: string;
  onChange: (value: string) => void;
  onBlur?: () => void;
  placeholder?: string;
  testId: string;
  ariaLabel: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  const onBlur = useRef(props.onBlur);
  onChange.current = props.onChange;
  onBlur.current = props.onBlur;

  useEffect(() => {
    const v = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          highlightActiveLine(),
          highlightActiveLineGutter(),
          drawSelection(),
          history(),
          indentOnInput(),
          bracketMatching(),
          StreamLanguage.define(shell),
          syntaxHighlighting(highlight),
          theme,
          placeholder(props.placeholder ?? ""),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorView.contentAttributes.of({ "aria-label": props.ariaLabel }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
            if (u.focusChanged && !u.view.hasFocus) onBlur.current?.();
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // created once per mounted editor; value changes are applied below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Follow the document when it changes from outside (undo, redo, another edit).
  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const current = v.state.doc.toString();
    if (current !== props.value) {
      v.dispatch({ changes: { from: 0, to: current.length, insert: props.value } });
    }
  }, [props.value]);

  return <div className="sw-code" ref={host} data-testid={props.testId} />;
}
