/**
 * Chromium's command line for the browser tests, kept on loopback for WebRTC:
 * - ``--force-webrtc-ip-handling-policy=default_public_interface_only`` binds WebRTC's sockets to
 *   the any-address, so packets to the test's WHEP server (127.0.0.1) leave from 127.0.0.1 and its
 *   answers come back there (Chromium offers no loopback candidate any more; with its interfaces
 *   enumerated, the answers would go to the machine's own interface address);
 * - ``WebRtcHideLocalIpsWithMdns`` off: no mDNS names for the candidates, so no multicast
 *   announcing them on the network.
 * Chromium honours only the last ``--disable-features``, and Playwright passes its own list
 * first: ours must carry Playwright's too. It is read from the installed playwright-core, and
 * this fails loudly when that list moves rather than silently dropping it.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

function playwrightDisabledFeatures(): string[] {
  const core = dirname(createRequire(import.meta.url).resolve("playwright-core/package.json"));
  const bundle = readFileSync(join(core, "lib", "coreBundle.js"), "utf8");
  const list = /\bdisabledFeatures = \[([\s\S]*?)\]\.filter\(Boolean\)/.exec(bundle)?.[1];
  const names = list?.replace(/\/\/[^\n]*/g, "").match(/"[A-Za-z0-9_]+"/g)?.map((name) => name.slice(1, -1));
  if (!names?.length) {
    throw new Error("Playwright's default --disable-features list was not found in playwright-core's coreBundle.js: "
      + "update e2e/chromium-flags.ts for this Playwright version");
  }
  return names;
}

export function chromiumFlags(): string[] {
  return [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--enable-unsafe-swiftshader",
    "--force-webrtc-ip-handling-policy=default_public_interface_only",
    `--disable-features=${[...playwrightDisabledFeatures(), "WebRtcHideLocalIpsWithMdns"].join(",")}`,
  ];
}
