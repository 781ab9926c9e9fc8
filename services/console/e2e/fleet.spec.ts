/**
 * Fleet: summary and list, filters through the URL, the map drawn offline (WebGL through
 * SwiftShader; the seeded devices and camera with coordinates on it, the rest listed apart),
 * a device's signal chart from fusion's telemetry with its anomaly marked, its status history,
 * and a token shown once. Any request to a non-loopback address fails the test: the map needs no
 * tiles, glyphs or sprites. Seeded by tests/console/test_plates_fleet.py.
 */
import { checkA11y, env, expect, keep, signIn, test } from "./support";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

test("an operator filters the fleet, sees the map offline, a device's signal and issues a token", async ({ page }, testInfo) => {
  const outside: string[] = [];
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["data:", "blob:"].includes(url.protocol) && !LOOPBACK.has(url.hostname)) outside.push(request.url());
  });

  await signIn(page, undefined, undefined, "/fleet");
  await expect(page.getByRole("heading", { name: "Frota", exact: true })).toBeVisible();
  await expect(page.getByTestId("fleet-summary-total-value")).toHaveText(env("VIGIA_CONSOLE_DEVICES"));
  await expect(page.getByTestId("fleet-summary-warning-value")).toHaveText("1");
  await expect(page.getByTestId("device-row")).toHaveCount(Number(env("VIGIA_CONSOLE_DEVICES")));

  // The map: a WebGL canvas with every placed thing drawn (as points or inside clusters).
  const map = page.getByTestId("fleet-map");
  await map.scrollIntoViewIfNeeded();
  await expect(map.locator("canvas")).toBeVisible();
  await expect(map).toHaveAttribute("data-ready", "true", { timeout: 30_000 });
  await expect(map).toHaveAttribute("data-rendered", env("VIGIA_CONSOLE_ON_MAP"));
  // The three things at the gate, a few metres apart, are one cluster labelled with its count.
  await expect(map.locator("[data-cluster-count='3']")).toHaveText("3");
  await expect(page.getByTestId("fleet-unplaced")).toContainText("2 sem coordenadas");
  await keep(page, "fleet", testInfo);
  await checkA11y(page, "fleet: list and map");

  // Filters live in the URL: a click, then a shared link.
  await page.getByRole("group", { name: "Estado" }).getByRole("button", { name: "Offline" }).click();
  await expect(page).toHaveURL(/status=OFF/);
  await expect(page.getByTestId("device-row")).toHaveCount(2);
  await page.goto("/fleet?status=WARNING&kind=sensor");
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await expect(page.getByTestId("device-row")).toContainText("Sensor Doca");
  await expect(page.getByRole("button", { name: "Alerta" })).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByRole("button", { name: "Sensor" })).toHaveAttribute("aria-pressed", "true");
  await keep(page, "fleet-filtered", testInfo);
  await checkA11y(page, "fleet: filtered");

  // The device: its signal from fusion's telemetry, the anomaly marked, its status history.
  await page.goto("/fleet?q=Port%C3%A3o%201");
  await page.getByRole("link", { name: "Portão 1" }).click();
  await expect(page).toHaveURL(new RegExp(`/fleet/${env("VIGIA_CONSOLE_DEVICE")}`));
  const chart = page.getByTestId("signal-chart");
  await expect(chart.locator("canvas")).toBeVisible();
  await expect.poll(async () => Number(await chart.getAttribute("data-points"))).toBeGreaterThanOrEqual(80);
  await expect.poll(async () => Number(await chart.getAttribute("data-marks"))).toBeGreaterThanOrEqual(1);
  // The forecast service's forecast of the metric: the readings resampled, then the band ahead.
  await expect(chart).toHaveAttribute("data-forecast", "true");
  await expect(page.getByTestId("forecast-summary")).toContainText("faixa de 95 %");
  await expect(page.getByTestId("status-history").locator("li").first()).toContainText("Online");
  await keep(page, "fleet-device", testInfo);
  await checkA11y(page, "fleet: device");

  // A token, shown once: gone after a reload, only its prefix stays listed.
  await page.getByRole("button", { name: "Novo token" }).click();
  const token = await page.getByTestId("new-token-value").textContent();
  expect(token?.length).toBeGreaterThan(20);
  const row = page.getByTestId("credential").filter({ hasText: token!.slice(0, 12) });
  await expect(row).toHaveCount(1);
  await keep(page, "fleet-token", testInfo);
  await checkA11y(page, "fleet: new token");
  await page.reload();
  await expect(page.getByTestId("credential").first()).toBeVisible();
  await expect(page.getByTestId("new-token")).toHaveCount(0);
  expect(await page.content()).not.toContain(token);
  const prefix = (await page.getByTestId("credential").first().getAttribute("data-prefix"))!;
  await page.getByRole("button", { name: `Revogar o token ${prefix}` }).click();
  await expect(page.getByTestId("credential").first()).toContainText("revogado em");

  expect(outside, "requests outside this machine").toEqual([]);
});
