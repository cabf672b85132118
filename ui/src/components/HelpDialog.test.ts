import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { HelpDialog, RECIPE_FORMAT_REFERENCE, renderMarkdown, slug } from "./HelpDialog";

const render = (markdown: string) => renderToStaticMarkup(createElement("div", null, ...renderMarkdown(markdown)));

describe("the Help dialog", () => {
  it("shows the recipe format reference with its headings", () => {
    const html = renderToStaticMarkup(createElement(HelpDialog, { onClose: () => {} }));
    expect(html).toContain('data-testid="help-dialog"');
    expect(html).toContain('<h2 id="help-recipe-file-format-version-1">Recipe file format, version 1</h2>');
    expect(html).toContain('<h3 id="help-keep-running-policies">Keep-running policies</h3>');
    expect(html).toContain("<code>SLIPWAY_OUTPUT</code>");
  });

  it("bundles docs/recipe-format.md", () => {
    expect(RECIPE_FORMAT_REFERENCE.startsWith("# Recipe file format, version 1")).toBe(true);
  });

  it("every in-page link of the reference has a heading to jump to", () => {
    const ids = new Set([...RECIPE_FORMAT_REFERENCE.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => slug(m[1]!)));
    const links = [...RECIPE_FORMAT_REFERENCE.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(ids, `link #${link}`).toContain(link);
  });
});

describe("the Markdown renderer", () => {
  it("renders tables, code blocks, lists and inline code", () => {
    const html = render("| Key | Meaning |\n|---|---|\n| `a|b` | **bold** |\n\n```sh\necho <hi>\n```\n\n- one\n- two\n\n1. first\n");
    expect(html).toContain("<th>Key</th>");
    expect(html).toContain("<td><code>a|b</code></td><td><strong>bold</strong></td>");
    expect(html).toContain('<pre class="sw-help__code" data-lang="sh"><code>echo &lt;hi&gt;</code></pre>');
    expect(html).toContain("<ul><li>one</li><li>two</li></ul>");
    expect(html).toContain("<ol><li>first</li></ol>");
  });

  it("never turns text into markup", () => {
    const html = render('<script>alert(1)</script> and <img src=x onerror="alert(1)"> [x](javascript:alert(1))');
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("javascript:");
    expect(html).toContain("&lt;script&gt;");
  });
});
