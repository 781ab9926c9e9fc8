/**
 * The events area against control + live + the recorder (tests/console/test_events.py seeds the
 * events through the broker and builds one evidence bundle with the correlator's builder): the list
 * shows the seeded events; filters live in the URL and survive a reload; an operator acknowledges
 * two events at once with a note and sees who and when; an event published while the page is open
 * appears without a reload; another operator acknowledges it (the list says who, without a reload)
 * and resolves it while its page is open (the page follows); on the dashboard a new one flashes
 * the feed (the alert sound switched on and kept); the evidence plays (video), is drawn
 * (waveform, sensor chart) and downloads as one ZIP; a viewer sees the same without any action.
 * axe on every state.
 */
import { readFile } from "node:fs/promises";

import type { APIRequestContext, Locator, Page } from "@playwright/test";

import { checkA11y, env, expect, isPhone, keep, signIn, test } from "./support";

const rows = (page: Page) => page.getByTestId("event-row");

/** Another operator, acting through control's API (signed in there, not in this browser). */
async function anotherOperator(request: APIRequestContext) {
  const login = await request.post("/api/v1/auth/login", {
    data: { email: env("VIGIA_CONSOLE_OPERATOR_EMAIL"), password: env("VIGIA_CONSOLE_PASSWORD") },
  });
  expect(login.ok()).toBe(true);
  const headers = { Authorization: `Bearer ${((await login.json()) as { access: string }).access}` };
  return async (id: string, action: "acknowledge" | "resolve", note: string) => {
    const answer = await request.post(`/api/v1/events/${id}/${action}/`, { headers, data: { note } });
    expect(answer.ok()).toBe(true);
  };
}

/** Whether a canvas has any non-transparent pixel (it was drawn on). */
async function drawn(canvas: Locator): Promise<boolean> {
  return canvas.evaluate((element) => {
    const c = element as HTMLCanvasElement;
    const pixels = c.getContext("2d")!.getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
    return false;
  });
}

test("an operator filters the events through the URL, acknowledges two with a note and sees a live one arrive",
  async ({ page, request }, testInfo) => {
    await signIn(page, undefined, undefined, "/events");
    await expect(page).toHaveURL(/\/events$/);
    await expect(page.getByRole("heading", { name: "Eventos" })).toBeVisible();
    await expect(page.getByTestId("events-live")).toHaveAttribute("data-state", "open");
    // Every seeded event, and at least the live ones an earlier run added.
    await expect.poll(() => rows(page).count()).toBeGreaterThanOrEqual(Number(env("VIGIA_CONSOLE_EVENT_COUNT")));
    await expect(rows(page).filter({ hasText: "intrusion" }).first()).toBeVisible();
    await expect(rows(page).filter({ hasText: "power_loss" }).getByTestId("event-decided-by"))
      .toContainText("admin@demo.vigia.local");
    await keep(page, "events-list", testInfo);
    await checkA11y(page, "the events list");

    // A filter chosen on the page is in the URL, and a reload keeps it.
    await page.getByRole("checkbox", { name: "Crítica" }).check();
    await expect(page).toHaveURL(/severity=critical/);
    await expect.poll(async () => (await rows(page).allInnerTexts()).every((text) => text.includes("Crítica"))).toBe(true);
    await expect(rows(page).filter({ hasText: "intrusion" })).toHaveCount(1);
    await expect(rows(page).filter({ hasText: "loitering" })).toHaveCount(0);
    await page.reload();
    await expect(page).toHaveURL(/severity=critical/);
    await expect(page.getByRole("checkbox", { name: "Crítica" })).toBeChecked();
    await expect(rows(page).filter({ hasText: "tamper" })).toHaveCount(1);
    await expect(rows(page).filter({ hasText: "loitering" })).toHaveCount(0);
    await keep(page, "events-filtered", testInfo);
    await checkA11y(page, "the filtered list");

    // A time range from a link: its bounds shown in the organization's zone (São Paulo, UTC-3).
    await page.goto("/events?until=2020-06-01T12:00:00Z");
    await expect(page.getByLabel("Período")).toHaveValue("custom");
    await expect(page.getByLabel("Até")).toHaveValue("2020-06-01T09:00");
    await expect(page.getByTestId("events-empty")).toHaveText("Nenhum evento com estes filtros.");
    await page.goto("/events?hours=1");
    await expect(page.getByLabel("Período")).toHaveValue("1");
    await expect.poll(() => rows(page).count()).toBeGreaterThanOrEqual(Number(env("VIGIA_CONSOLE_EVENT_COUNT")));

    // A link with filters (camera and type) opens the same view.
    await page.goto(`/events?type=door_forced&camera=${env("VIGIA_CONSOLE_CAMERA")}`);
    await expect(page.getByLabel("Tipo")).toHaveValue("door_forced");
    await expect(rows(page)).toHaveCount(4);
    const open = page.locator('[data-testid="event-row"][data-status="open"]');
    await expect.poll(() => open.count()).toBeGreaterThanOrEqual(2);
    const picked = [await open.nth(0).getAttribute("data-event-id"), await open.nth(1).getAttribute("data-event-id")];
    for (const id of picked) await page.locator(`[data-event-id="${id}"]`).getByTestId("event-select").check();
    await expect(page.getByTestId("bulk-count")).toHaveText("2 eventos selecionados");
    await checkA11y(page, "two events selected");
    const note = `Ronda verificou (${testInfo.project.name})`;
    await page.getByLabel("Nota").fill(note);
    await page.getByRole("button", { name: "Reconhecer", exact: true }).click();
    await expect(page.getByTestId("bulk-outcome")).toHaveText("2 reconhecido(s), 0 já estavam assim.");
    for (const id of picked) {
      const row = page.locator(`[data-event-id="${id}"]`);
      await expect(row).toHaveAttribute("data-status", "acknowledged");
      // Who and when, in the organization's zone (São Paulo), 24-hour.
      await expect(row.getByTestId("event-decided-by"))
        .toHaveText(/^por admin@demo\.vigia\.local em \d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/);
    }
    await keep(page, "events-acknowledged", testInfo);
    await checkA11y(page, "after the bulk acknowledgement");

    // The note is on the event's page too.
    await page.locator(`[data-event-id="${picked[0]}"]`).getByRole("link", { name: "door_forced" }).click();
    await expect(page).toHaveURL(new RegExp(`/events/${picked[0]}$`));
    await expect(page.getByText(note)).toBeVisible();
    await expect(page.getByTestId("detail-status")).toContainText("Reconhecido");

    // Back to every event; a new one published now shows up without a reload.
    await page.getByRole("link", { name: "Voltar aos eventos" }).click();
    await expect(page.getByTestId("events-live")).toHaveAttribute("data-state", "open");
    await expect.poll(() => rows(page).count()).toBeGreaterThanOrEqual(Number(env("VIGIA_CONSOLE_EVENT_COUNT")));
    await page.evaluate(() => { (window as unknown as { sameDocument: boolean }).sameDocument = true; });
    const answer = await fetch(env("VIGIA_CONSOLE_LIVE_TRIGGER"), { method: "POST" });
    expect(answer.ok).toBe(true);
    const live = (await answer.json()) as { id: string };
    const arrived = page.locator(`[data-event-id="${live.id}"]`);
    await expect(arrived).toBeVisible();
    await expect(arrived).toContainText("live_check");
    await expect(arrived).toHaveAttribute("data-status", "open");
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    await keep(page, "events-live", testInfo);
    await checkA11y(page, "the list with a live event");

    // Another operator acknowledges it: the row says so, and who, without a reload.
    const decide = await anotherOperator(request);
    await decide(live.id, "acknowledge", "Indo verificar");
    await expect(arrived).toHaveAttribute("data-status", "acknowledged");
    await expect(arrived.getByTestId("event-decided-by")).toContainText(`por ${env("VIGIA_CONSOLE_OPERATOR_EMAIL")} em`);
    // They resolve it while its page is open here: the status, who and the note follow.
    await arrived.getByRole("link", { name: "live_check" }).click();
    await expect(page).toHaveURL(new RegExp(`/events/${live.id}$`));
    await expect(page.getByTestId("detail-status")).toContainText("Reconhecido");
    await expect(page.getByTestId("events-live")).toHaveAttribute("data-state", "open");
    await decide(live.id, "resolve", "Portão fechado");
    await expect(page.getByTestId("detail-status")).toContainText("Resolvido");
    await expect(page.getByTestId("detail-status")).toContainText(`por ${env("VIGIA_CONSOLE_OPERATOR_EMAIL")} em`);
    await expect(page.getByText("Portão fechado")).toBeVisible();
    await expect(page.getByRole("button", { name: "Resolver" })).toBeDisabled();
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);

    // On the dashboard a new critical event flashes the feed; the sound is the operator's choice, kept.
    await page.goto("/");
    await expect(page.getByTestId("feed-connection")).toHaveAttribute("data-state", "open");
    const sound = page.getByRole("button", { name: "Som para eventos críticos" });
    await expect(sound).toHaveAttribute("aria-pressed", "false");
    await sound.click();
    await expect(sound).toHaveAttribute("aria-pressed", "true");
    expect((await fetch(env("VIGIA_CONSOLE_LIVE_TRIGGER"), { method: "POST" })).ok).toBe(true);
    await expect(page.getByTestId("feed-card")).toHaveAttribute("data-critical-cues", "1");
    await expect(page.getByRole("status").filter({ hasText: "Evento crítico novo" })).toBeVisible();
    await keep(page, "dashboard-critical", testInfo);
    await checkA11y(page, "the dashboard with a critical event");
    await page.reload();
    await expect(page.getByRole("button", { name: "Som para eventos críticos" })).toHaveAttribute("aria-pressed", "true");
  });

test("an operator opens an event's evidence: the video plays, the waveform and the chart are drawn, the bundle downloads",
  async ({ page }, testInfo) => {
    const id = env("VIGIA_CONSOLE_EVIDENCE_EVENT");
    await signIn(page, undefined, undefined, `/events/${id}`);
    await expect(page.getByRole("heading", { name: "Evento intrusion" })).toBeVisible();
    await expect(page.getByTestId("evidence")).toHaveAttribute("data-ready", "true");

    const video = page.getByTestId("evidence-video");
    await expect(video).toHaveCount(1);
    await expect.poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
    expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeGreaterThan(0);
    expect(await video.evaluate((v: HTMLVideoElement) => v.videoWidth)).toBe(320);

    const waveform = page.getByTestId("evidence-waveform");
    await expect(waveform).toHaveAttribute("data-drawn", "true");
    expect(await drawn(waveform)).toBe(true);

    const chart = page.getByTestId("evidence-chart");
    await expect(chart.locator("canvas")).toHaveCount(1);
    expect(Number(await chart.getAttribute("data-points"))).toBeGreaterThan(50);
    expect(await drawn(chart.locator("canvas"))).toBe(true);

    await expect(page.getByTestId("evidence-metadata")).toContainText("Anomalia magnética");
    await expect(page.getByTestId("evidence-files")).toContainText("manifest.json");
    for (const name of ["video.mp4", "audio.wav", "sensors.csv", "metadata.json", "manifest.json"]) {
      await expect(page.getByTestId("evidence-files").getByRole("link", { name, exact: true })).toBeVisible();
    }
    await keep(page, "event-evidence", testInfo);
    await checkA11y(page, "the evidence viewer");

    const download = page.waitForEvent("download");
    await page.getByTestId("evidence-download").click();
    const saved = await download;
    expect(saved.suggestedFilename()).toBe(`vigia-evento-intrusion-${id}.zip`);
    const bytes = await readFile((await saved.path())!);
    expect(bytes.length).toBeGreaterThan(10_000);
    expect(bytes.subarray(0, 4).toString("hex")).toBe("504b0304"); // a ZIP's first local header
    const text = bytes.toString("latin1");
    for (const name of ["video.mp4", "audio.wav", "sensors.csv", "metadata.json", "manifest.json"]) {
      expect(text).toContain(name);
    }

    // The verdict: a false alarm.
    await page.getByRole("button", { name: "Alarme falso" }).click();
    await expect(page.getByTestId("detail-classification")).toHaveText("Alarme falso");
    await expect(page.getByRole("button", { name: "Alarme falso" })).toHaveAttribute("aria-pressed", "true");
    if (!isPhone(testInfo)) await keep(page, "event-classified", testInfo);
  });

test("a viewer sees the events and the evidence but no action", async ({ page }, testInfo) => {
  await signIn(page, env("VIGIA_CONSOLE_VIEWER_EMAIL"), env("VIGIA_CONSOLE_PASSWORD"), "/events");
  await expect.poll(() => rows(page).count()).toBeGreaterThanOrEqual(Number(env("VIGIA_CONSOLE_EVENT_COUNT")));
  await expect(page.getByTestId("event-select")).toHaveCount(0);
  await expect(page.getByRole("checkbox", { name: "Selecionar todos os eventos carregados" })).toHaveCount(0);
  await page.goto(`/events/${env("VIGIA_CONSOLE_EVIDENCE_EVENT")}`);
  await expect(page.getByTestId("evidence")).toHaveAttribute("data-ready", "true");
  await expect(page.getByRole("button", { name: "Reconhecer" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "Alarme falso" })).toHaveCount(0);
  await keep(page, "event-viewer", testInfo);
  await checkA11y(page, "an event as a viewer sees it");
});
