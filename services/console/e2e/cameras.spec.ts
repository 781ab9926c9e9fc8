/**
 * The cameras area: the grid's tile shows the frames the test feeds into the camera's Redis
 * stream and stops streaming when scrolled off screen; zones and lines drawn on a camera's
 * picture are saved and come back after a reload (and from the API); an invalid address gets
 * control's field error; WebRTC (WHEP) plays behind the platform's /webrtc/ path and is hung up
 * when the page is left; HLS from ffmpeg plays behind /stream/, for a camera whose WebRTC answers
 * are broken (the tile falls back). Cameras and URLs come from tests/console/test_cameras.py.
 */
import { type Locator, type Page, type WebSocket } from "@playwright/test";

import { checkA11y, env, expect, keep, signIn, test } from "./support";

const FED = () => env("VIGIA_CONSOLE_FED_CAMERA");

function tileOf(page: Page, camera: string) {
  return page.locator(`[data-testid="camera-tile"][data-camera="${camera}"]`);
}

/** The view's <video>, once it has played and then moved on by more than a second. */
async function expectPlaying(view: Locator): Promise<Locator> {
  const video = view.locator("video");
  const time = () => video.evaluate((v: HTMLVideoElement) => v.currentTime);
  await expect.poll(time, { timeout: 20_000 }).toBeGreaterThan(0);
  const started = await time();
  await expect.poll(time, { timeout: 15_000 }).toBeGreaterThan(started + 1);
  return video;
}

async function accessToken(page: Page): Promise<string> {
  const answer = await page.request.post("/api/v1/auth/login", {
    data: { email: env("VIGIA_CONSOLE_EMAIL"), password: env("VIGIA_CONSOLE_PASSWORD") },
  });
  expect(answer.status()).toBe(200);
  return (await answer.json()).access as string;
}

test("the grid shows a camera's latest frames and pauses tiles off screen", async ({ page }, testInfo) => {
  const sockets: WebSocket[] = [];
  page.on("websocket", (ws) => {
    if (ws.url().includes(`/api/v1/cameras/${FED()}/frames`)) sockets.push(ws);
  });
  await signIn(page, undefined, undefined, "/cameras");
  await expect(page.getByRole("heading", { name: "Câmeras" })).toBeVisible();
  // The test's cameras (the other tests may have added theirs).
  await expect.poll(() => page.getByTestId("camera-tile").count()).toBeGreaterThanOrEqual(Number(env("VIGIA_CONSOLE_CAMERAS")));

  const tile = tileOf(page, FED());
  const view = tile.getByTestId("camera-view");
  await expect(view).toHaveAttribute("data-kind", "frames");
  await expect(view).toHaveAttribute("data-state", "live");
  const picture = tile.getByRole("img", { name: "Imagem ao vivo de Portão principal" });
  await expect(picture).toBeVisible();
  // The tile follows the stream: the picture changes as the test adds frames.
  const first = await picture.getAttribute("data-captured");
  await expect.poll(() => picture.getAttribute("data-captured"), { timeout: 10_000 }).not.toBe(first);
  await expect(tile.getByTestId("stream-kind")).toHaveText("Quadros");
  await expect(tile.getByTestId("stream-delay")).toHaveText(/^Atraso \d+,\d s$/);
  await keep(page, "cameras-grid", testInfo);
  await checkA11y(page, "cameras grid");

  // Scrolled away, the tile closes its socket (nothing more is received) and says it is paused.
  expect(sockets.length).toBeGreaterThan(0);
  const open = sockets[sockets.length - 1]!;
  await page.getByTestId("camera-tile").last().scrollIntoViewIfNeeded();
  await expect(view).toHaveAttribute("data-state", "paused");
  await expect.poll(() => open.isClosed()).toBe(true);
  const opened = sockets.length;
  await page.waitForTimeout(1500);
  expect(sockets.length).toBe(opened); // no new socket while it is off screen
  await keep(page, "cameras-grid-scrolled", testInfo);

  // Back on screen: a new socket, live again.
  await tile.scrollIntoViewIfNeeded();
  await expect(view).toHaveAttribute("data-state", "live");
  expect(sockets.length).toBe(opened + 1);

  // The filter lives in the URL.
  await page.getByRole("searchbox", { name: "Filtrar por nome ou local" }).fill("portao");
  await expect(page).toHaveURL(/\/cameras\?q=portao$/);
  await expect(page.getByTestId("camera-tile")).toHaveCount(1);
  await checkA11y(page, "cameras grid filtered");
  // Small tiles, also in the URL, with the filter kept.
  await page.getByRole("link", { name: "P", exact: true }).click();
  await expect(page).toHaveURL(/\/cameras\?q=portao&size=s$/);
  await expect(tile.getByTestId("camera-view")).toHaveAttribute("data-state", "live");
});

test("a viewer watches cameras without the tools that change them", async ({ page }) => {
  await signIn(page, env("VIGIA_CONSOLE_VIEWER_EMAIL"), undefined, "/cameras");
  await expect(tileOf(page, FED()).getByTestId("camera-view")).toHaveAttribute("data-state", "live");
  await expect(page.getByRole("link", { name: "Adicionar câmera" })).toHaveCount(0);
  await tileOf(page, FED()).getByRole("link", { name: "Abrir Portão principal" }).click();
  await expect(page.getByRole("heading", { name: "Portão principal" })).toBeVisible();
  await expect(page.getByText("Somente operadores e administradores editam as zonas.")).toBeVisible();
  for (const name of ["Editar", "Nova zona", "Nova linha", "Salvar zonas", "Testar conexão"]) {
    await expect(page.getByRole("button", { name }).or(page.getByRole("link", { name }))).toHaveCount(0);
  }
  await checkA11y(page, "camera details as a viewer");
});

test("an operator draws a zone and a line on a camera's picture and saves them", async ({ page }, testInfo) => {
  const camera = env(testInfo.project.name === "phone" ? "VIGIA_CONSOLE_ZONES_CAMERA_PHONE" : "VIGIA_CONSOLE_ZONES_CAMERA_DESKTOP");
  await signIn(page, undefined, undefined, `/cameras/${camera}`);
  await expect(page.getByRole("heading", { name: /^Zonas (desktop|phone)$/ })).toBeVisible();
  const canvas = page.getByTestId("zone-canvas");
  await expect(page.getByTestId("camera-view")).toHaveAttribute("data-state", "live");
  await expect(page.getByText("Nenhuma zona ou linha.")).toBeVisible();

  // A polygon by clicks (three points, then Finish), then a line (two points finish it).
  await page.getByRole("button", { name: "Nova zona" }).click();
  const box = (await canvas.boundingBox())!;
  for (const [x, y] of [[0.2, 0.2], [0.7, 0.25], [0.45, 0.75]]) {
    await canvas.click({ position: { x: box.width * x!, y: box.height * y! } });
  }
  await expect(page.getByRole("status").filter({ hasText: "Desenhando Zona 1: 3 pontos" })).toBeAttached();
  await keep(page, "camera-zone-drawing", testInfo);
  await checkA11y(page, "zone being drawn");
  await page.getByRole("button", { name: "Concluir" }).click();
  await page.getByRole("button", { name: "Nova linha" }).click();
  await canvas.click({ position: { x: box.width * 0.1, y: box.height * 0.9 } });
  await canvas.click({ position: { x: box.width * 0.9, y: box.height * 0.85 } });
  await expect(page.getByTestId("shape")).toHaveCount(2);

  // The keyboard moves a point: the zone's first point, 5 % to the right.
  const point = page.getByRole("button", { name: /^Ponto 1 de Zona 1 em 20%, 20%$/ });
  await point.focus();
  await page.keyboard.press("Shift+ArrowRight");
  await expect(page.getByRole("button", { name: /^Ponto 1 de Zona 1 em 25%, 20%$/ })).toBeFocused();

  await page.getByRole("textbox", { name: "Nome (Linha)" }).fill("portão");
  await page.getByRole("button", { name: "Salvar zonas" }).click();
  await expect(page.getByTestId("zones-message")).toHaveText("Zonas salvas.");
  await keep(page, "camera-zones-saved", testInfo);
  await checkA11y(page, "zones saved");

  await page.reload();
  await expect(page.getByTestId("shape")).toHaveCount(2);
  await expect(page.getByRole("textbox", { name: "Nome (Zona (polígono))" })).toHaveValue("Zona 1");
  await expect(page.getByRole("textbox", { name: "Nome (Linha)" })).toHaveValue("portão");

  // And control has them, in normalised image coordinates.
  const answer = await page.request.get(`/api/v1/cameras/${camera}/`, { headers: { Authorization: `Bearer ${await accessToken(page)}` } });
  const saved = await answer.json();
  expect(saved.zones).toHaveLength(1);
  expect(saved.zones[0].name).toBe("Zona 1");
  expect(saved.zones[0].points).toHaveLength(3);
  expect(saved.zones[0].points[0][0]).toBeCloseTo(0.25, 1);
  expect(saved.lines).toEqual([{ name: "portão", points: [expect.any(Array), expect.any(Array)] }]);

  // Deleting the line and saving leaves the zone alone.
  await page.getByRole("button", { name: "Excluir portão" }).click();
  await page.getByRole("button", { name: "Salvar zonas" }).click();
  await expect(page.getByTestId("zones-message")).toHaveText("Zonas salvas.");
  await expect(page.getByTestId("shape")).toHaveCount(1);

  // A zone drawn with the keyboard only: the picture takes focus, arrows move the cross-hair
  // (Shift: 5 %), Enter places a point where it is.
  await page.getByRole("button", { name: "Nova zona" }).click();
  await expect(canvas).toBeFocused();
  await page.keyboard.press("Enter");
  for (let i = 0; i < 6; i++) await page.keyboard.press("Shift+ArrowRight");
  await page.keyboard.press("Enter");
  for (let i = 0; i < 6; i++) await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Enter");
  await expect(page.getByRole("status").filter({ hasText: "Desenhando Zona 2: 3 pontos" })).toBeAttached();
  await page.getByRole("button", { name: "Concluir" }).click();
  await expect(page.getByRole("button", { name: "Ponto 3 de Zona 2 em 80%, 80%" })).toBeVisible();
  await page.getByRole("button", { name: "Salvar zonas" }).click();
  await expect(page.getByTestId("zones-message")).toHaveText("Zonas salvas.");
  await expect(page.getByTestId("shape")).toHaveCount(2);

  // The connection check reports (the test's cameras point at a closed port).
  await page.getByRole("button", { name: "Testar conexão" }).click();
  await expect(page.getByTestId("check-result")).toHaveText(/^(Sem conexão: .+|O teste de conexão não está disponível neste servidor\.)$/);
  await checkA11y(page, "camera details");
});

test("adding a camera with an invalid address shows control's field error", async ({ page, problems }, testInfo) => {
  await signIn(page, undefined, undefined, "/cameras");
  await page.getByRole("link", { name: "Adicionar câmera" }).click();
  await expect(page).toHaveURL(/\/cameras\/new$/);
  await expect(page.getByRole("heading", { name: "Nova câmera" })).toBeVisible();
  await checkA11y(page, "new camera form");

  await page.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByTestId("name-error")).toHaveText("obrigatório");

  await page.getByLabel("Nome").fill(`Nova ${testInfo.project.name}`);
  await page.getByLabel("Endereço RTSP").fill("http://camera.local/stream");
  await page.getByRole("button", { name: "Salvar" }).click();
  const error = page.getByTestId("rtsp_url-error");
  await expect(error).toHaveText("scheme must be rtsp:// or rtsps://");
  await expect(page.getByLabel("Endereço RTSP")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByLabel("Endereço RTSP")).toBeFocused();
  // Chromium logs the refused request itself: that one error is the point of this test.
  const refused = problems.findIndex((p) => p.includes("status of 400 (Bad Request)"));
  expect(refused).toBeGreaterThanOrEqual(0);
  problems.splice(refused, 1);
  await keep(page, "camera-form-error", testInfo);
  await checkA11y(page, "new camera form with errors");

  // Corrected, it is saved and its page opens.
  await page.getByLabel("Endereço RTSP").fill("rtsp://127.0.0.1:9/stream");
  await page.getByRole("button", { name: "Salvar" }).click();
  await expect(page.getByRole("heading", { name: `Nova ${testInfo.project.name}` })).toBeVisible();
  await expect(page).toHaveURL(/\/cameras\/[0-9a-f-]{36}$/);
});

test("a camera with an HLS stream plays it", async ({ page }, testInfo) => {
  const base = env("VIGIA_CONSOLE_HLS_URL");
  await signIn(page, undefined, undefined, `${base}/cameras/${env("VIGIA_CONSOLE_HLS_CAMERA")}`);
  await expect(page.getByRole("heading", { name: "HLS portaria" })).toBeVisible();
  const view = page.getByTestId("camera-view");
  // WebRTC is offered first; its broken answers make the tile give up on it after three tries.
  await expect(view).toHaveAttribute("data-kind", "hls", { timeout: 20_000 });
  await expect(view).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  await expectPlaying(view);
  await expect(view.getByTestId("stream-kind")).toHaveText("HLS");
  await expect(view.getByTestId("stream-delay")).toHaveText(/^Atraso /);
  await keep(page, "camera-hls", testInfo);
  await checkA11y(page, "camera playing HLS");
});

test("a camera with a WebRTC stream plays it and hangs up when left", async ({ page }, testInfo) => {
  const base = env("VIGIA_CONSOLE_HLS_URL");
  const sessions = async () => (await (await page.request.get(`${base}/__whep`)).json()) as { answered: number; open: number };
  const before = await sessions();
  await signIn(page, undefined, undefined, `${base}/cameras/${env("VIGIA_CONSOLE_WEBRTC_CAMERA")}`);
  await expect(page.getByRole("heading", { name: "WebRTC doca" })).toBeVisible();
  const view = page.getByTestId("camera-view");
  await expect(view).toHaveAttribute("data-kind", "webrtc");
  await expect(view).toHaveAttribute("data-state", "live", { timeout: 20_000 });
  const video = await expectPlaying(view);
  expect(await video.evaluate((v: HTMLVideoElement) => [v.videoWidth, v.videoHeight])).toEqual([320, 180]);
  await expect(view.getByTestId("stream-kind")).toHaveText("WebRTC");
  await expect(view.getByTestId("stream-delay")).toHaveText(/^Atraso \d/);
  expect((await sessions()).answered).toBe(before.answered + 1);
  await keep(page, "camera-webrtc", testInfo);
  await checkA11y(page, "camera playing WebRTC");

  // Leaving for a page without the picture (the grid would show the camera again) hangs up.
  await page.getByRole("link", { name: "Editar" }).click();
  await expect(page).toHaveURL(/\/edit$/);
  await expect.poll(async () => (await sessions()).open).toBe(before.open);
});
