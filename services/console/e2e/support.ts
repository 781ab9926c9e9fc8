/**
 * What every browser test shares: a `test` whose page fails the test on any console error or
 * uncaught exception, screenshots kept for review, axe accessibility checks (no serious or
 * critical violation), signing in, and the expectations the driving pytest test passes in the
 * environment (VIGIA_CONSOLE_* names).
 */
import { join } from "node:path";

import AxeBuilder from "@axe-core/playwright";
import { expect, type Page, test as base, type TestInfo } from "@playwright/test";

/** A value the driving pytest test passed (tests/console/test_*.py). */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through its tests/console/test_*.py`);
  return value;
}

/** `test` whose page records console errors and uncaught exceptions; any of them fails the test. */
export const test = base.extend<{ problems: string[] }>({
  problems: [
    async ({ page }, use) => {
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(`console error: ${message.text()}`);
      });
      page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
      await use(problems);
      expect(problems, "the page logged errors").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** Whether this run is the phone-sized project (see playwright.config.ts). */
export function isPhone(testInfo: TestInfo): boolean {
  return testInfo.project.name === "phone";
}

/** A full-page screenshot kept for review: `<name>-<project>.png` in VIGIA_CONSOLE_SCREENSHOTS. */
export async function keep(page: Page, name: string, testInfo: TestInfo): Promise<void> {
  const folder = process.env.VIGIA_CONSOLE_SCREENSHOTS;
  if (folder) await page.screenshot({ path: join(folder, `${name}-${testInfo.project.name}.png`), fullPage: true });
}

/** axe on the page as it is now: fails listing every serious or critical violation. */
export async function checkA11y(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes
      .slice(0, 3).map((node) => node.target.join(" ")).join(", ")}`);
  expect(serious, `axe on ${what}`).toEqual([]);
}

/** Sign in through the form (pt-BR labels) and wait for the dashboard or the deep link's page. */
export async function signIn(page: Page, email = env("VIGIA_CONSOLE_EMAIL"),
  password = env("VIGIA_CONSOLE_PASSWORD"), path = "/"): Promise<void> {
  await page.goto(path);
  await expect(page).toHaveURL(/\/sign-in/);
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha").fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).not.toHaveURL(/\/sign-in/);
}
