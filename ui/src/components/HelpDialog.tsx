// Help: the recipe format reference (docs/recipe-format.md, bundled at build time), readable
// in-app. A small Markdown renderer that builds React elements, never HTML strings: nothing in
// the text can become markup or script, which suits the app's strict CSP.

import { Fragment, type ReactNode } from "react";
import reference from "../../../docs/recipe-format.md?raw";
import { Dialog } from "./Dialog";
import "./HelpDialog.css";

/** The id of a heading, as GitHub makes it: lower case, punctuation dropped, spaces to `-`. */
export function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .trim()
    .replace(/\s/g, "-");
}

const ID_PREFIX = "help-";

function jumpTo(anchor: string) {
  document.getElementById(ID_PREFIX + anchor)?.scrollIntoView({ block: "start" });
}

/** Inline Markdown: `code`, **bold**, [text](#anchor) links. Other links show their text only. */
function inline(text: string, key: string): ReactNode[] {
  const out: ReactNode[] = [];
  const pattern = /(`+)([\s\S]*?)\1|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  let n = 0;
  for (const m of text.matchAll(pattern)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const k = `${key}.${n++}`;
    if (m[1] !== undefined) {
      out.push(<code key={k}>{m[2]}</code>);
    } else if (m[3] !== undefined) {
      out.push(<strong key={k}>{inline(m[3], k)}</strong>);
    } else {
      const href = m[5]!;
      const label = inline(m[4]!, k);
      if (href.startsWith("#")) {
        const anchor = href.slice(1);
        out.push(
          <a
            key={k}
            href={`#${ID_PREFIX}${anchor}`}
            onClick={(e) => {
              e.preventDefault();
              jumpTo(anchor);
            }}
          >
            {label}
          </a>,
        );
      } else {
        out.push(<Fragment key={k}>{label}</Fragment>);
      }
    }
    last = at + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Splits a table row `| a | b |` into its cells (a `|` inside backticks stays in its cell). */
function cells(row: string): string[] {
  const body = row.trim().replace(/^\|/, "").replace(/\|$/, "");
  const out: string[] = [];
  let cell = "";
  let inCode = false;
  for (const ch of body) {
    if (ch === "`") inCode = !inCode;
    if (ch === "|" && !inCode) {
      out.push(cell.trim());
      cell = "";
    } else cell += ch;
  }
  out.push(cell.trim());
  return out;
}

const isTableRule = (line: string) => /^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$/.test(line);
const LIST_ITEM = /^(\s*)([-*]|\d+\.)\s+(.*)$/;

/** Renders the Markdown of the reference (headings, paragraphs, fenced code, tables, lists). */
export function renderMarkdown(text: string): ReactNode[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const out: ReactNode[] = [];
  let i = 0;
  const key = () => `b${out.length}`;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "") {
      i++;
      continue;
    }
    const fence = /^```(\S*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      i++;
      while (i < lines.length && !lines[i]!.startsWith("```")) body.push(lines[i++]!);
      i++;
      out.push(
        <pre key={key()} className="sw-help__code" data-lang={fence[1] || undefined}>
          <code>{body.join("\n")}</code>
        </pre>,
      );
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = Math.min(heading[1]!.length + 1, 6);
      const title = heading[2]!;
      const Tag = `h${level}` as "h2";
      out.push(
        <Tag key={key()} id={ID_PREFIX + slug(title)}>
          {inline(title, key())}
        </Tag>,
      );
      i++;
      continue;
    }
    if (line.trimStart().startsWith("|") && i + 1 < lines.length && isTableRule(lines[i + 1]!)) {
      const head = cells(line);
      i += 2;
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.trimStart().startsWith("|")) rows.push(cells(lines[i++]!));
      const k = key();
      out.push(
        <div key={k} className="sw-help__table">
          <table>
            <thead>
              <tr>
                {head.map((c, j) => (
                  <th key={j}>{inline(c, `${k}.h${j}`)}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, ri) => (
                <tr key={ri}>
                  {r.map((c, j) => (
                    <td key={j}>{inline(c, `${k}.${ri}.${j}`)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>,
      );
      continue;
    }
    const item = LIST_ITEM.exec(line);
    if (item) {
      const ordered = /\d/.test(item[2]!);
      const items: string[] = [];
      while (i < lines.length) {
        const m = LIST_ITEM.exec(lines[i]!);
        if (m) {
          items.push(m[3]!);
        } else if (lines[i]!.trim() !== "" && /^\s+/.test(lines[i]!) && items.length > 0) {
          items[items.length - 1] += " " + lines[i]!.trim();
        } else break;
        i++;
      }
      const k = key();
      const children = items.map((t, j) => <li key={j}>{inline(t, `${k}.${j}`)}</li>);
      out.push(ordered ? <ol key={k}>{children}</ol> : <ul key={k}>{children}</ul>);
      continue;
    }
    // A paragraph runs to the next blank line or block.
    const para: string[] = [];
    while (
      i < lines.length &&
      lines[i]!.trim() !== "" &&
      !/^(```|#{1,6}\s)/.test(lines[i]!) &&
      !LIST_ITEM.test(lines[i]!) &&
      !(lines[i]!.trimStart().startsWith("|") && i + 1 < lines.length && isTableRule(lines[i + 1]!))
    ) {
      para.push(lines[i++]!.trim());
    }
    const k = key();
    out.push(<p key={k}>{inline(para.join(" "), k)}</p>);
  }
  return out;
}

/** The recipe format reference, as the app bundles it. */
export const RECIPE_FORMAT_REFERENCE: string = reference;

export function HelpDialog({ onClose }: { onClose: () => void }) {
  return (
    <Dialog title="Recipe format reference" onClose={onClose} testId="help-dialog" wide>
      <p className="sw-muted">
        This text is <code>docs/recipe-format.md</code>; with a Slipway package it is also installed as{" "}
        <code>/usr/share/doc/slipway/recipe-format.md</code>.
      </p>
      <article className="sw-help" data-testid="help-reference">
        {renderMarkdown(RECIPE_FORMAT_REFERENCE)}
      </article>
    </Dialog>
  );
}
