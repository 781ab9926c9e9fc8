/**
 * The settings area and the console's frame: an admin invites a user (the code shown once),
 * changes a role, meets the last-admin guard; creates a webhook channel and sends a test that the
 * notifier delivers to the driving test's loopback stand-in; changes the organization's time zone;
 * reads the audit log filtered in the URL. A viewer sees no Settings. The dark theme toggles and
 * persists; the skip link works from the keyboard; an idle session is signed out. axe on every
 * state, in both themes. Driven by tests/console/test_settings.py.
 */
import { checkA11y, env, expect, isPhone, keep, signIn, test } from "./support";

const ADMIN = () => env("VIGIA_CONSOLE_EMAIL");

/** The browser logs an error for a request control refused on purpose: take exactly those off the list. */
function expectRefused(problems: string[], status: number): void {
  const refused = problems.filter((problem) => problem.includes(`status of ${status}`));
  expect(refused.length, `the page should have logged the ${status} it asked for`).toBeGreaterThan(0);
  problems.splice(0, problems.length, ...problems.filter((problem) => !refused.includes(problem)));
}

test("an admin invites a user, changes a role and meets the last-admin guard; the invitee accepts", async ({ page, problems, browser }, testInfo) => {
  const who = `convidado-${testInfo.project.name}@demo.vigia.local`;
  await signIn(page, undefined, undefined, "/settings");
  await expect(page).toHaveURL(/\/settings\/users$/);
  await expect(page.getByRole("heading", { name: "Usuários e papéis" })).toBeVisible();
  await expect(page.locator(`[data-testid=user-row][data-email="${ADMIN()}"]`)).toContainText("(você)");
  await checkA11y(page, "settings: users");

  await page.locator("#invite-email").fill(who);
  await page.locator("#invite-name").fill("Convidado de Teste");
  await page.locator("#invite-role").selectOption("operator");
  await page.getByRole("button", { name: "Convidar", exact: true }).click();
  const invitation = page.getByTestId("invitation");
  await expect(invitation).toContainText(`Convite criado para ${who}`);
  expect((await page.getByTestId("invitation-token").inputValue()).length).toBeGreaterThan(20);
  const link = await page.getByTestId("invitation-link").inputValue();
  expect(link).toMatch(/\/accept-invite#token=/);
  const row = page.locator(`[data-testid=user-row][data-email="${who}"]`);
  await expect(row).toContainText("Convite pendente");
  await expect(row.getByLabel(`Papel de ${who}`)).toHaveValue("operator");
  await keep(page, "settings-users-invited", testInfo);
  await checkA11y(page, "settings: invitation shown");

  // Shown once: gone when closed, and a reload does not bring it back.
  await page.getByRole("button", { name: "Fechar" }).click();
  await expect(invitation).toHaveCount(0);
  await page.reload();
  await expect(row).toBeVisible();
  await expect(page.getByTestId("invitation")).toHaveCount(0);

  await row.getByLabel(`Papel de ${who}`).selectOption("viewer");
  await expect(page.getByTestId("users-outcome")).toHaveText(`${who} agora é Observador.`);
  await expect(row.getByLabel(`Papel de ${who}`)).toHaveValue("viewer");

  // The only admin who can sign in cannot stop being one: control answers 409 and the page says why.
  const me = page.locator(`[data-testid=user-row][data-email="${ADMIN()}"]`);
  await me.getByLabel(`Papel de ${ADMIN()}`).selectOption("operator");
  await expect(page.getByTestId("users-outcome")).toContainText("must keep an active admin");
  await expect(page.getByTestId("users-outcome")).toHaveAttribute("role", "alert");
  await expect(me.getByLabel(`Papel de ${ADMIN()}`)).toHaveValue("admin");
  expectRefused(problems, 409);
  await keep(page, "settings-users-last-admin", testInfo);
  await checkA11y(page, "settings: last-admin refusal");

  await row.getByRole("button", { name: `Desbloquear o acesso de ${who}` }).click();
  await expect(page.getByTestId("users-outcome")).toHaveText(`Bloqueios de acesso de ${who} removidos.`);
  await row.getByRole("button", { name: `Desativar ${who}` }).click();
  await expect(page.getByTestId("users-outcome")).toHaveText(`${who} foi desativado.`);
  await expect(row).toContainText("Desativado");
  await row.getByRole("button", { name: "Reativar" }).click();
  await expect(page.getByTestId("users-outcome")).toHaveText(`${who} foi reativado.`);

  // The invitee opens the link in a browser of their own, chooses a password and is signed in,
  // with the role the admin left them (a viewer: no Settings).
  const own = await browser.newContext({ locale: "pt-BR", timezoneId: "UTC" });
  const invitee = await own.newPage();
  invitee.on("console", (message) => {
    if (message.type() === "error") problems.push(`invitee console error: ${message.text()}`);
  });
  await invitee.goto(link);
  await expect(invitee.getByRole("heading", { name: "Aceitar convite" })).toBeVisible();
  await expect(invitee.getByLabel("Código do convite")).not.toHaveValue("");
  await checkA11y(invitee, "accept invitation");
  await invitee.getByLabel("Nova senha").fill("convite-aceito-senha-42");
  await invitee.getByRole("button", { name: "Definir senha e entrar" }).click();
  await expect(invitee.getByRole("heading", { name: "Painel" })).toBeVisible();
  await expect(invitee.getByRole("navigation").getByRole("link", { name: "Configurações" })).toHaveCount(0);
  await own.close();
  await page.reload();
  await expect(row).not.toContainText("Convite pendente");
});

test("an admin creates a webhook channel, sends a test and sees it delivered", async ({ page }, testInfo) => {
  const name = `webhook-${testInfo.project.name}`;
  await signIn(page, undefined, undefined, "/settings/channels");
  await expect(page.getByRole("heading", { name: "Canais de notificação" })).toBeVisible();
  await expect(page.locator("#channel-kind")).toHaveValue("webhook");
  await checkA11y(page, "settings: channels, new");

  await page.locator("#channel-name").fill(name);
  await page.locator("#config-url").fill(env("VIGIA_CONSOLE_WEBHOOK_URL"));
  await page.locator("#config-secret").fill(env("VIGIA_CONSOLE_WEBHOOK_SECRET"));
  await page.getByRole("button", { name: "Criar canal" }).click();
  await expect(page.getByTestId("channels-outcome")).toHaveText(`Canal ${name} criado.`);
  await expect(page).toHaveURL(/\/settings\/channels\?channel=[0-9a-f-]{36}$/);
  // Editing it: the secret is kept (never shown), the URL is what was typed.
  await expect(page.locator("#config-url")).toHaveValue(env("VIGIA_CONSOLE_WEBHOOK_URL"));
  await expect(page.locator("#config-secret")).toHaveValue("");
  await expect(page.locator("#config-secret")).toHaveAttribute("placeholder", /guardado/);

  await page.getByRole("button", { name: `Enviar teste pelo canal ${name}` }).click();
  await expect(page.getByTestId("channels-outcome")).toContainText("Teste enviado");
  // The notifier delivered it to the stand-in, which checked the signature made with the kept secret.
  await expect(page.getByTestId("deliveries").locator("tr[data-status=delivered]")).toHaveCount(1, { timeout: 45_000 });
  await keep(page, "settings-channels-delivered", testInfo);
  await checkA11y(page, "settings: channel with its deliveries");

  // A rename keeps the config and its secret.
  await page.locator("#channel-name").fill(`${name}-renomeado`);
  await page.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByTestId("channels-outcome")).toHaveText(`Canal ${name}-renomeado salvo.`);
  await expect(page.getByTestId("channels")).toContainText(`${name}-renomeado`);
});

test("an admin changes the time zone and finds the changes in the audit log, filtered in the URL", async ({ page }, testInfo) => {
  const zone = isPhone(testInfo) ? "America/Recife" : "America/Manaus";
  await signIn(page, undefined, undefined, "/settings/organization");
  await expect(page.locator("#org-time-zone")).toBeVisible();
  await checkA11y(page, "settings: organization");
  await page.locator("#org-time-zone").selectOption(zone);
  await page.getByRole("form", { name: "Organização" }).getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByTestId("organization-outcome")).toHaveText("Salvo.");
  await keep(page, "settings-organization", testInfo);
  await page.getByRole("navigation").getByRole("link", { name: "Painel", exact: true }).click();
  await expect(page.getByTestId("time-zone")).toHaveText(`Horários em ${zone}`);

  // A shared link opens the log with its filter.
  await page.goto("/settings/audit?method=patch");
  await expect(page.locator("#audit-method")).toHaveValue("PATCH");
  const rows = page.getByTestId("audit-row");
  await expect(rows.first()).toContainText("PATCH /api/v1/organization/settings");
  expect(new Set(await rows.evaluateAll((all) => all.map((row) => (row as HTMLElement).dataset.method)))).toEqual(new Set(["PATCH"]));
  await checkA11y(page, "settings: audit, PATCH");

  // Choosing a filter puts it in the URL.
  await page.locator("#audit-method").selectOption("POST");
  await expect(page).toHaveURL(/\/settings\/audit\?method=POST$/);
  await expect(page.getByTestId("audit")).toContainText("POST /api/v1/users/");
  await expect(page.getByTestId("audit")).toContainText("POST /api/v1/channels/");
  await page.locator("#audit-method").selectOption("");
  await page.locator("#audit-action").selectOption("sign_in");
  await expect(page).toHaveURL(/\/settings\/audit\?action=sign_in$/);
  await expect(rows.first()).toContainText("entrou");
  await expect(rows.first()).toContainText(ADMIN());
  await keep(page, "settings-audit", testInfo);
  await checkA11y(page, "settings: audit, sign-ins");
});

test("a viewer sees no Settings link and is sent away from its pages", async ({ page }, testInfo) => {
  await signIn(page, env("VIGIA_CONSOLE_VIEWER_EMAIL"));
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  const nav = page.getByRole("navigation", { name: "Menu" });
  await expect(nav.getByRole("link", { name: "Câmeras" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Configurações" })).toHaveCount(0);
  await page.goto("/settings/users");
  await expect(page).toHaveURL(/\/\?hours=24$/);
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  await keep(page, "viewer-dashboard", testInfo);
  await checkA11y(page, "dashboard as a viewer");
});

test("the dark theme toggles, persists across a reload, and every settings page passes axe in it", async ({ page }, testInfo) => {
  await signIn(page);
  const html = page.locator("html");
  const toggle = page.getByTestId("theme-toggle");
  await expect(html).toHaveClass(/\blight\b/);
  await toggle.click();
  await expect(html).toHaveClass(/\bdark\b/);
  await expect(toggle).toHaveAttribute("aria-pressed", "true");
  expect(await page.evaluate(() => getComputedStyle(document.body).backgroundColor)).not.toBe("rgb(255, 255, 255)");
  await page.reload();
  await expect(html).toHaveClass(/\bdark\b/);
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  await keep(page, "dashboard-dark", testInfo);
  await checkA11y(page, "dashboard, dark");
  for (const [section, heading] of [["users", "Usuários e papéis"], ["channels", "Canais de notificação"],
    ["organization", "Organização"], ["audit", "Registro de auditoria"]]) {
    await page.goto(`/settings/${section}`);
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
    await keep(page, `settings-${section}-dark`, testInfo);
    await checkA11y(page, `settings: ${section}, dark`);
  }
  await page.getByTestId("theme-toggle").click();
  await expect(html).toHaveClass(/\blight\b/);
  await page.reload();
  await expect(html).toHaveClass(/\blight\b/);
  // Signed in again from the cookie before the next reload (a reload during the refresh would
  // present the rotated-out cookie again).
  await expect(page.getByRole("heading", { name: "Registro de auditoria" })).toBeVisible();

  // Until the operator chooses, the system's preference decides.
  await page.evaluate(() => localStorage.removeItem("vigia.theme"));
  await page.emulateMedia({ colorScheme: "dark" });
  await page.reload();
  await expect(html).toHaveClass(/\bdark\b/);
  await expect(page.getByRole("heading", { name: "Registro de auditoria" })).toBeVisible();
});

test("the skip link and the navigation work from the keyboard", async ({ page }) => {
  test.skip(isPhone(test.info()), "a phone has no keyboard to tab with");
  await signIn(page);
  await expect(page.getByRole("heading", { name: "Painel" })).toBeVisible();
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Pular para o conteúdo" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press("Enter");
  await expect(page.locator("#content")).toBeFocused();
  // From the navigation, Enter on a link opens its area.
  await page.getByRole("navigation", { name: "Menu" }).getByRole("link", { name: "Configurações" }).focus();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/settings\/users$/);
});

test("an idle session is signed out with a clear message", async ({ page }, testInfo) => {
  await page.clock.install();
  await signIn(page, undefined, undefined, "/settings/organization");
  const idle = page.locator("#org-idle");
  await expect(idle).toHaveValue("30");
  await idle.fill("1");
  await page.getByRole("form", { name: "Organização" }).getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByTestId("organization-outcome")).toHaveText("Salvo.");

  await page.clock.fastForward("00:30");
  await expect(page.getByRole("heading", { name: "Configurações" })).toBeVisible();
  await page.clock.fastForward("00:40");
  await expect(page).toHaveURL(/\/sign-in\?redirect=%2Fsettings%2Forganization$/);
  await expect(page.getByText("Sua sessão foi encerrada por inatividade. Entre novamente.")).toBeVisible();
  await keep(page, "signed-out-idle", testInfo);
  await checkA11y(page, "sign-in after an idle time-out");

  // Signing in again comes back to the page the session ended on; then the default for what runs next.
  await page.getByLabel("E-mail").fill(env("VIGIA_CONSOLE_EMAIL"));
  await page.getByLabel("Senha").fill(env("VIGIA_CONSOLE_PASSWORD"));
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/settings\/organization$/);
  await page.locator("#org-idle").fill("");
  await page.getByRole("form", { name: "Organização" }).getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByTestId("organization-outcome")).toHaveText("Salvo.");
  await expect(page.locator("#org-idle")).toHaveValue("30");
});
