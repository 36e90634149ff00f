import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium, which scripts/install-chromium.sh installs (npm test's pretest). */
const CHROMIUM = process.env.REPRISE_CHROMIUM ?? "/usr/bin/chromium";

/** Where browser tests leave their screenshots (git-ignored). */
export const UI_ARTIFACTS = join(process.cwd(), ".artifacts", "ui");

export interface TestBrowser {
  readonly browser: Browser;
  /** A fresh page; uncaught page errors and failed console messages are collected in `pageErrors`. */
  newPage(): Promise<Page>;
  readonly pageErrors: string[];
  /** Saves a full-page screenshot as `.artifacts/ui/<name>.png` and returns its path. */
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
  mkdirSync(UI_ARTIFACTS, { recursive: true });
  const pageErrors: string[] = [];
  return {
    browser,
    pageErrors,
    async newPage() {
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      page.on("pageerror", (e) => pageErrors.push(`${page.url()}: ${e.message}`));
      return page;
    },
    async screenshot(page, name) {
      const path = join(UI_ARTIFACTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: () => browser.close(),
  };
}
