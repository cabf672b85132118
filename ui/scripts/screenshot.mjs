// Screenshots of the designer in a plain browser (preview backend), for visual work only.
// Usage: node scripts/screenshot.mjs URL OUT_PREFIX   (needs Debian's chromium at /usr/bin/chromium)
import { chromium } from "playwright-core";

const url = process.argv[2] ?? "http://localhost:1421/?open=web-with-db";
const out = process.argv[3] ?? "/tmp/slipway";
const select = process.argv[4] ?? "";
const layout = process.argv.includes("--layout");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});
for (const colorScheme of ["light", "dark"]) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 960 }, colorScheme, deviceScaleFactor: 1 });
  page.on("console", (m) => m.type() === "error" && console.error(`[${colorScheme}] console:`, m.text()));
  page.on("pageerror", (e) => console.error(`[${colorScheme}] pageerror:`, e.message));
  await page.goto(url);
  await page.waitForSelector('[data-testid="node-web"]', { timeout: 10000 });
  await page.waitForTimeout(800);
  if (layout) {
    await page.keyboard.press("Shift+L");
    await page.waitForTimeout(600);
  }
  if (select) {
    await page.click(`[data-testid="node-${select}"] .sw-node__title`);
    await page.waitForTimeout(300);
  }
  await page.screenshot({ path: `${out}-${colorScheme}.png` });
  await page.close();
}
await browser.close();
