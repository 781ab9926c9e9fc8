/**
 * Sign in, see the dashboard's KPIs and a live-feed message, survive a reload (silent refresh from
 * the cookie), sign out. Any console error or uncaught exception on the page fails the test.
 * Expected values come from the driving pytest test (tests/console/test_console.py).
 */
import { checkA11y, env, expect, keep, test } from "./support";

test("an operator signs in, sees the dashboard and the live feed, and signs out", async ({ page }, testInfo) => {
  await page.goto("/?hours=168");
  await expect(page).toHaveURL(/\/sign-in\?redirect=/);
  await keep(page, "sign-in", testInfo);
  await checkA11y(page, "sign-in");
  await page.getByLabel("E-mail").fill(env("VIGIA_CONSOLE_EMAIL"));
  await page.getByLabel("Senha").fill(env("VIGIA_CONSOLE_PASSWORD"));
  await page.getByRole("button", { name: "Entrar" }).click();

  // Back where the deep link pointed, with its range.
  await expect(page).toHaveURL(/\/\?hours=168$/);
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  await expect(page.getByRole("link", { name: "7 dias" })).toHaveAttribute("aria-current", "page");
  await expect(page.getByTestId("kpi-devices-value")).toHaveText(`0 / ${env("VIGIA_CONSOLE_DEVICES")}`);
  await expect(page.getByTestId("kpi-cameras-value")).toHaveText("0");
  await expect(page.getByTestId("kpi-open-events-value")).toHaveText("0");
  await expect(page.getByTestId("kpi-passages-today-value")).toHaveText("0");
  await expect(page.getByTestId("kpi-events-value")).toHaveText("0");
  await expect(page.getByTestId("time-zone")).toHaveText(`Horários em ${env("VIGIA_CONSOLE_TIME_ZONE")}`);
  // The charts come in their own chunk, drawn on a canvas, each with its text alternative.
  await expect(page.getByTestId("chart-detections")).toHaveAttribute("aria-label", "Nenhuma detecção no período.");
  await expect(page.getByTestId("chart-severity")).toHaveAttribute("aria-label",
    "Eventos no período por severidade: 0 críticos, 0 altos, 0 médios, 0 baixos.");
  await expect(page.getByTestId("chart-detections").locator("canvas")).toHaveCount(1);

  // The test publishes a device status change every half second once live is up.
  await expect(page.getByTestId("feed-connection")).toHaveAttribute("data-state", "open");
  const line = page.getByTestId("feed").getByText(`Dispositivo ${env("VIGIA_CONSOLE_DEVICE").slice(0, 8)}: OFF → ON`);
  await expect(line.first()).toBeVisible();
  // The message's time (15:04:05 UTC) in the organization's zone, 24-hour; the browser is in UTC.
  await expect(page.getByTestId("feed").locator("time").first()).toHaveText(env("VIGIA_CONSOLE_FEED_TIME"));
  await keep(page, "dashboard", testInfo);
  await checkA11y(page, "dashboard");

  // Every area is one click away.
  for (const [name, path] of [["Câmeras", "/cameras"], ["Placas", "/plates"], ["Eventos", "/events"],
    ["Frota", "/fleet"], ["Automações", "/pipelines"], ["Configurações", "/settings/users"], ["Painel", "/"]]) {
    await page.getByRole("navigation").getByRole("link", { name, exact: true }).click();
    await expect(page).toHaveURL(new RegExp(`${path === "/" ? "/(\\?.*)?" : path}$`));
  }

  // A reload keeps the operator signed in: the access token is renewed from the httpOnly cookie.
  await page.reload();
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  expect(await page.evaluate(() => document.cookie)).not.toContain("vigia_refresh");
  // Two tabs reloading at once share the one cookie: they take turns spending it (a Web Lock),
  // so neither looks like a replay and both stay signed in.
  const tab = await page.context().newPage();
  await tab.goto("/");
  await expect(tab.getByRole("heading", { name: "Painel" })).toBeVisible();
  await Promise.all([page.reload(), tab.reload()]);
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  await expect(tab.getByRole("heading", { name: "Painel" })).toBeVisible();
  await tab.close();
  await page.goto("/sign-in?redirect=%2F%2Fevil.example");
  // Signed in already: straight to the dashboard, on this site (another one is never a redirect target).
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  expect(page.url()).toBe(new URL("/?hours=24", env("VIGIA_CONSOLE_URL")).href);

  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await expect(page.getByText("Você saiu do Vigia.")).toBeVisible();
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in/);
});
