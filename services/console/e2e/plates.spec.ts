/**
 * Plates: the newest passages with their crops, a look-alike search (the letter O typed where the
 * plate has a zero) that still finds the plate, its history across cameras, a watch-list made here
 * with the plate added to it, then deleted, and the CSV export of the search as a download. Passages were stored
 * by the recorder from plate.read messages (tests/console/test_plates_fleet.py).
 */
import { readFile } from "node:fs/promises";

import type { Page } from "@playwright/test";

import { checkA11y, env, expect, keep, signIn, test } from "./support";

async function cropLoaded(page: Page, plate: string): Promise<void> {
  const crop = page.locator(`[data-testid=passage][data-plate=${plate}]`).first().getByTestId("passage-crop");
  await expect(crop).toBeVisible();
  await expect.poll(() => crop.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
}

test("an operator finds a plate by a look-alike, opens its history, lists it and exports it", async ({ page }, testInfo) => {
  const plate = env("VIGIA_CONSOLE_PLATE");
  await signIn(page, undefined, undefined, "/plates");
  await expect(page.getByRole("heading", { name: "Placas", exact: true })).toBeVisible();
  await expect(page.getByTestId("passage")).toHaveCount(4);
  await cropLoaded(page, plate);
  await keep(page, "plates-latest", testInfo);
  await checkA11y(page, "plates: latest passages");

  // The look-alike search, in the URL: a shareable link.
  await page.getByLabel("Placa", { exact: true }).fill(env("VIGIA_CONSOLE_LOOK_ALIKE"));
  await page.getByRole("button", { name: "Buscar" }).click();
  await expect(page).toHaveURL(/[?&]q=qrs-1ao5/);
  const results = page.getByRole("list", { name: "Passagens" });
  await expect(results.getByTestId("passage")).toHaveCount(3);
  await expect(results.locator(`[data-plate=${plate}]`).first()).toContainText("parecida");
  await cropLoaded(page, plate);
  await keep(page, "plates-search", testInfo);
  await checkA11y(page, "plates: look-alike search");

  // The same search from the link alone, then filtered to one camera.
  await page.goto(`/plates?q=${env("VIGIA_CONSOLE_LOOK_ALIKE")}&camera=${env("VIGIA_CONSOLE_CAMERA")}`);
  await expect(page.getByRole("list", { name: "Passagens" }).getByTestId("passage")).toHaveCount(2);
  await expect(page.getByLabel("Câmera")).toHaveValue(env("VIGIA_CONSOLE_CAMERA"));

  // The export of what the search found: the best plate under the filters, as a CSV download.
  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: `Exportar CSV de ${plate}` }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`passagens-${plate}.csv`);
  const lines = (await readFile((await file.path())!, "utf-8")).trim().split(/\r?\n/);
  expect(lines[0]).toContain("plate");
  expect(lines.slice(1)).toHaveLength(2);
  expect(lines[1]).toContain(plate);
  expect(lines[1]).toContain(env("VIGIA_CONSOLE_CAMERA"));

  // History across cameras.
  await page.getByRole("list", { name: "Placas encontradas" }).getByRole("link", { name: new RegExp(plate) }).click();
  await expect(page).toHaveURL(new RegExp(`/plates/${plate}$`));
  await expect(page.getByRole("heading", { name: `Histórico da placa ${plate}` })).toBeVisible();
  const cameras = page.getByTestId("history-cameras").locator("tbody tr");
  await expect(cameras).toHaveCount(2);
  await expect(cameras.filter({ hasText: "Portão Norte" })).toContainText("2");
  await expect(cameras.filter({ hasText: "Doca" })).toContainText("1");
  await expect(page.getByTestId("passage")).toHaveCount(3);
  await cropLoaded(page, plate);
  await keep(page, "plates-history", testInfo);
  await checkA11y(page, "plates: history");

  // A watch-list of this run's own (both screen sizes share the stack), then the plate on it.
  const list = `Suspeitos ${testInfo.project.name}`;
  await page.goto("/plates/watchlists");
  await page.getByLabel("Nome").fill(list);
  await page.getByRole("button", { name: "Criar lista" }).click();
  await expect(page.getByRole("heading", { name: list })).toBeVisible();
  await expect(page).toHaveURL(/list=/);
  await page.goto(`/plates/${plate}`);
  await page.getByLabel("Lista", { exact: true }).selectOption({ label: `${list} (bloqueadas)` });
  await page.getByLabel("Observação").fill("visto na doca");
  await page.getByRole("button", { name: "Adicionar à lista" }).click();
  await expect(page.getByRole("status")).toHaveText(`${plate} adicionada à lista ${list}.`);
  await page.goto("/plates/watchlists");
  await page.getByRole("link", { name: new RegExp(list) }).click();
  const entries = page.getByTestId("watchlist-entries");
  await expect(entries).toContainText(plate);
  await expect(entries).toContainText("visto na doca");
  // Another plate, straight on the list, until a time typed on the organization's clock.
  await page.getByLabel("Placa", { exact: true }).fill("xyz-9k88");
  await page.getByLabel("Expira em").fill("2030-01-02T08:00");
  await page.getByRole("button", { name: "Adicionar placa" }).click();
  await expect(entries.locator("tr", { hasText: "XYZ9K88" })).toContainText("02/01/2030 08:00:00");
  await keep(page, "plates-watchlists", testInfo);
  await checkA11y(page, "plates: watch-lists");

  // The list deleted, after a confirmation: gone from the lists.
  await page.getByRole("button", { name: "Excluir lista" }).click();
  await checkA11y(page, "plates: deleting a watch-list");
  await page.getByRole("button", { name: `Excluir ${list} de vez` }).click();
  await expect(page.getByRole("link", { name: new RegExp(list) })).toHaveCount(0);
  await expect(page).toHaveURL(/\/plates\/watchlists$/);
});
