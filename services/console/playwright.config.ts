/**
 * The browser tests, each spec driven by its tests/console/test_*.py: that starts the stack the
 * spec needs (control and live with a demo organization, and more where the area needs it), then
 * runs the spec against it in Debian's Chromium (no browser download), at a desktop and a phone
 * size.
 */
import { defineConfig, devices } from "@playwright/test";

import { chromiumFlags } from "./e2e/chromium-flags";

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
      args: chromiumFlags(),
    },
  },
  projects: [
    { name: "desktop", use: { viewport: { width: 1366, height: 768 } } },
    // A phone's viewport and touch, in the same Chromium.
    { name: "phone", use: { viewport: devices["Pixel 7"].viewport, deviceScaleFactor: 2, isMobile: true, hasTouch: true } },
  ],
});
