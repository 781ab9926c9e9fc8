/**
 * The browser smoke test, driven by tests/console/test_console.py: it starts control and live with
 * a demo organization, then runs this against them in Debian's Chromium (no browser download).
 */
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "e2e",
  timeout: 60_000,
  expect: { timeout: 15_000 },
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  outputDir: process.env.VIGIA_CONSOLE_ARTIFACTS ?? "test-results",
  use: {
    baseURL: process.env.VIGIA_CONSOLE_URL,
    locale: "pt-BR",
    timezoneId: "UTC", // the page must show the organization's zone, not the browser's
    screenshot: "only-on-failure",
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.VIGIA_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    },
  },
});
