/**
 * The pipelines area: build a pipeline from the palette (camera → object detection → condition →
 * dashboard event), see a wrong connection refused with its reason, a config error from the API on
 * its field, the diff before deploy, deploy it, watch it fire on the detections the driving test
 * publishes (counters and last runs update without a reload), dry-run a node, take an older version
 * back into the editor and delete the pipeline — at desktop size.
 * At phone size: the pipeline deployed through the API, its live badges, counters and runs, a node
 * selected from the keyboard and dry-run. Driven by tests/console/test_pipelines.py (control, live,
 * relay and the automation runtime).
 */
import type { Page } from "@playwright/test";

import { checkA11y, env, expect, isPhone, keep, signIn, test } from "./support";

/** Select a node by its canvas card (what a click or Tab + Enter does). */
async function select(page: Page, node: string) {
  await page.getByTestId(`node-${node}`).click();
  await expect(page.getByTestId("inspector")).toHaveAttribute("data-node", node);
}

/** Connect the selected node's output to ``target`` with the inspector's keyboard form. */
async function connect(page: Page, source: string, target: string, from?: string) {
  await select(page, source);
  const inspector = page.getByTestId("inspector");
  if (from) await inspector.getByLabel("Saída").selectOption(from);
  await inspector.getByLabel("Ligar a").selectOption({ label: target });
  await inspector.getByRole("button", { name: "Conectar", exact: true }).click();
}

/** Drag from one port's handle to another's (the whole graph in view first) until ``landed`` holds:
 * React Flow starts a connection on the press over a handle and ends it on the release over the
 * other; a press that missed the handle (the view refits itself 100 ms after a node is added, so a
 * handle can move under a drag) pans the canvas instead, so the drag is tried again from a fitted view. */
async function dragPort(page: Page, from: string, to: string, landed: () => Promise<void>) {
  await expect(async () => {
    await page.getByRole("button", { name: "Fit View" }).click();
    await page.getByTestId(from).dragTo(page.getByTestId(to));
    await landed();
  }).toPass({ timeout: 20_000 });
}

/** A console error the test expects (the browser logs a refused request's status), taken out of the page's problems. */
function expectLogged(problems: string[], pattern: RegExp) {
  const index = problems.findIndex((problem) => pattern.test(problem));
  expect(index, `a console error matching ${pattern}`).toBeGreaterThanOrEqual(0);
  problems.splice(index, 1);
}

test("an operator builds a pipeline, deploys it, sees it fire and dry-runs a node", async ({ page, problems }, testInfo) => {
  test.skip(isPhone(testInfo), "built at desktop size; the phone-sized test watches a deployed pipeline");
  test.setTimeout(150_000);
  const camera = env("VIGIA_CONSOLE_CAMERA");
  const notice = page.getByTestId("notice");
  await signIn(page, undefined, undefined, "/pipelines");
  await expect(page.getByRole("heading", { name: "Automações" })).toBeVisible();
  await checkA11y(page, "pipelines list");
  await keep(page, "pipelines-list", testInfo);

  await page.getByLabel("Nome da nova automação").fill(`Intrusão ${testInfo.project.name}`);
  await page.getByRole("button", { name: "Criar automação" }).click();
  await expect(page).toHaveURL(/\/pipelines\/[0-9a-f-]{36}/);
  await expect(page.getByTestId("palette")).toBeVisible();

  // The palette by category; a node dragged onto the canvas (desktop) or added with the keyboard.
  await page.getByTestId("palette-camera_rtsp").dragTo(page.getByTestId("canvas"), { targetPosition: { x: 80, y: 320 } });
  await expect(page.getByTestId("node-camera_rtsp-1")).toBeVisible();
  await page.getByTestId("palette-object_detection").focus();
  await page.keyboard.press("Enter");
  for (const type of ["conditional", "dashboard", "plate_match"]) {
    await page.getByTestId(`palette-${type}`).click();
    await expect(page.getByTestId(`node-${type}-1`)).toBeAttached();
  }

  // Detections into a plates input, dragged from port to port: refused, with the reason the server would give.
  await dragPort(page, "handle-camera_rtsp-1-out-detections", "handle-plate_match-1-in-plates", () => expect(notice).toContainText(
    "Conexão recusada: node 'plate_match-1': input 'plates' takes plates, but node 'camera_rtsp-1' output 'detections' gives detections",
    { timeout: 2_000 }));
  await expect(page.locator(".react-flow__edge")).toHaveCount(0);
  await checkA11y(page, "builder with a refused connection");
  await keep(page, "pipeline-refused-connection", testInfo);

  await connect(page, "camera_rtsp-1", "plate_match-1 · plates (plates)"); // the same from the keyboard
  await expect(page.getByTestId("inspector-edges")).toHaveCount(0);

  // The stray node deleted from the keyboard.
  await select(page, "plate_match-1");
  await page.locator('.react-flow__node[data-id="plate_match-1"]').press("Delete");
  await expect(page.getByTestId("node-plate_match-1")).toHaveCount(0);

  await dragPort(page, "handle-camera_rtsp-1-out-detections", "handle-object_detection-1-in-detections",
    () => expect(page.locator(".react-flow__edge")).toHaveCount(1, { timeout: 2_000 }));
  await connect(page, "object_detection-1", "conditional-1 · in (any)");
  await connect(page, "conditional-1", "dashboard-1 · data (any)", "true");
  await expect(page.getByTestId("inspector-edges").getByRole("listitem")).toHaveCount(2);
  await page.getByRole("button", { name: "Organizar" }).click();

  // Config forms from the catalogue's schema: a camera that is not the organization's...
  await select(page, "conditional-1");
  await page.getByTestId("inspector").getByLabel(/^Field/).fill("label");
  await page.getByTestId("inspector").getByLabel(/^Value/).fill("person");
  await expect(page.getByTestId("node-conditional-1").getByTestId("node-summary")).toContainText('field: "label"');
  await expect(page.getByTestId("node-conditional-1").getByTestId("node-summary")).toContainText('value: "person"');
  await select(page, "dashboard-1");
  await page.getByTestId("inspector").getByLabel(/^Title/).fill("Pessoa na portaria");
  await expect(page.getByTestId("node-dashboard-1").getByTestId("node-summary")).toContainText("Pessoa na portaria");
  await select(page, "camera_rtsp-1");
  const missing = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  await page.getByTestId("inspector").getByLabel("Camera", { exact: true }).fill(missing);
  await expect(page.getByTestId("node-camera_rtsp-1").getByTestId("node-summary")).toContainText(missing);
  await page.getByRole("button", { name: "Salvar", exact: true }).click();
  // ...is refused by the API, and the error shows on that node's field.
  await expect(page.getByTestId("inspector")).toHaveAttribute("data-node", "camera_rtsp-1");
  await expect(page.getByTestId("inspector").locator(".error-detail")).toContainText(`camera ${missing} does not exist`);
  await expect(page.getByTestId("node-camera_rtsp-1").getByTestId("node-problem")).toContainText("does not exist");
  expectLogged(problems, /status of 400/); // the refused save
  await checkA11y(page, "builder with an API error on a field");
  await keep(page, "pipeline-config-error", testInfo);

  await page.getByTestId("inspector").getByLabel("Camera", { exact: true }).fill(camera);
  await expect(page.getByTestId("node-camera_rtsp-1").getByTestId("node-summary")).toContainText(camera);
  await page.getByRole("button", { name: "Salvar", exact: true }).click();
  await expect(notice).toContainText("Salvo como versão 2.");

  // The diff before deploy: everything is new against no deployed version.
  await page.getByRole("button", { name: "Implantar" }).click();
  const diff = page.getByTestId("deploy-diff");
  await expect(diff).toContainText("Nenhuma versão implantada");
  await expect(diff).toContainText("Nó adicionado: camera_rtsp-1 (camera_rtsp)");
  await expect(diff).toContainText("Conexão adicionada: conditional-1:true->dashboard-1:data");
  await checkA11y(page, "diff before deploy");
  await keep(page, "pipeline-diff", testInfo);
  await diff.getByRole("button", { name: "Salvar e implantar" }).click();
  await expect(notice).toContainText("Implantada: versão 2 em execução.");
  await expect(page.getByTestId("pipeline-state")).toHaveAttribute("data-state", "running");
  await expect(page.getByTestId("version-2")).toContainText("implantada");
  await expect(page.getByTestId("version-2")).toContainText("admin@demo.vigia.local");

  // It fires on the published detections: counters, badges and last runs update without a reload.
  const board = page.getByTestId("node-dashboard-1");
  await expect(board.getByTestId("node-inputs")).not.toHaveText("0", { timeout: 45_000 });
  await expect(board.getByTestId("node-status")).toHaveAttribute("data-status", "fired");
  await expect(page.getByTestId("run").first()).toHaveAttribute("data-fired", "true");
  await checkA11y(page, "a running pipeline that fired");
  await keep(page, "pipeline-fired", testInfo);

  // A change after deploy shows in the diff against the deployed version.
  await select(page, "dashboard-1");
  await page.getByTestId("inspector").getByLabel(/^Title/).fill("Pessoa na portaria!");
  await expect(page.getByTestId("node-dashboard-1").getByTestId("node-summary")).toContainText("portaria!");
  await page.getByRole("button", { name: "Implantar" }).click();
  await expect(diff).toContainText("Comparando o rascunho com a versão 2.");
  await expect(diff).toContainText("Nó alterado: dashboard-1 (config.title)");
  await expect(diff).toContainText('dashboard-1.config.title: "Pessoa na portaria" → "Pessoa na portaria!"');
  await diff.getByRole("button", { name: "Cancelar" }).click();

  // Test a node on a captured input: the condition's output for the last detection it received.
  await select(page, "conditional-1");
  await page.getByRole("button", { name: "Usar a última entrada capturada" }).click();
  await expect(page.getByLabel("Dados (JSON)")).toHaveValue(/"person"/);
  await page.getByRole("button", { name: "Testar nó" }).click();
  const output = page.getByTestId("dry-run-output");
  await expect(output).toContainText('"port": "true"');
  await expect(output).toContainText('"label": "person"');
  await checkA11y(page, "a node's dry run");
  await keep(page, "pipeline-dry-run", testInfo);

  await page.getByRole("button", { name: "Parar" }).click();
  await expect(page.getByTestId("pipeline-state")).toHaveAttribute("data-state", "stopped");

  // An older version back into the editor (version 1: the empty graph it was created with), unsaved.
  await expect(page.getByTestId("version-2").getByRole("button")).toHaveCount(0); // the newest is the editor's
  await page.getByRole("button", { name: "Restaurar a versão 1 no editor" }).click();
  await expect(notice).toContainText("Versão 1 no editor");
  await expect(page.locator(".react-flow__node")).toHaveCount(0);
  await expect(page.getByTestId("dirty")).toBeVisible();

  // Deleted, after a confirmation: back on the list, without it.
  const name = `Intrusão ${testInfo.project.name}`;
  await page.getByRole("button", { name: "Excluir automação" }).click();
  await checkA11y(page, "the delete confirmation");
  await page.getByRole("button", { name: `Excluir ${name} de vez` }).click();
  await expect(page).toHaveURL(/\/pipelines$/);
  await expect(page.getByRole("heading", { name: "Automações" })).toBeVisible();
  await expect(page.getByRole("link", { name, exact: true })).toHaveCount(0);
  await expect(page.getByRole("link", { name: "Portaria (API)" })).toBeVisible();
});

test("the deployed pipeline's live status, runs and a node's dry run at phone size", async ({ page }, testInfo) => {
  test.skip(!isPhone(testInfo), "the desktop-sized test builds and deploys its own");
  test.setTimeout(90_000);
  await signIn(page, undefined, undefined, "/pipelines");
  const row = page.getByRole("row", { name: /Portaria \(API\)/ });
  await expect(row.getByTestId("pipeline-state")).toHaveAttribute("data-state", "running");
  await keep(page, "pipelines-list", testInfo);
  await row.getByRole("link", { name: "Portaria (API)" }).click();
  await expect(page).toHaveURL(new RegExp(`/pipelines/${env("VIGIA_CONSOLE_PIPELINE")}`));

  // It fires on the published detections: badges, counters and runs, without a reload.
  await expect(page.getByTestId("node-board").getByTestId("node-inputs")).not.toHaveText("0", { timeout: 30_000 });
  await expect(page.getByTestId("node-board").getByTestId("node-status")).toHaveAttribute("data-status", "fired");
  await expect(page.getByTestId("run").first()).toHaveAttribute("data-fired", "true");
  await checkA11y(page, "a deployed pipeline at phone size");
  await keep(page, "pipeline-fired", testInfo);

  // A node selected from the keyboard, tested on the input it last received.
  await page.locator('.react-flow__node[data-id="if"]').focus();
  await page.keyboard.press("Enter");
  await expect(page.getByTestId("inspector")).toHaveAttribute("data-node", "if");
  await expect(page).toHaveURL(/node=if/);
  await page.getByRole("button", { name: "Usar a última entrada capturada" }).click();
  await page.getByRole("button", { name: "Testar nó" }).click();
  await expect(page.getByTestId("dry-run-output")).toContainText('"port": "true"');
  await checkA11y(page, "a node's dry run at phone size");
  await keep(page, "pipeline-dry-run", testInfo);
});
