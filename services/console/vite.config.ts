/// <reference types="vitest/config" />
// Vite builds the console into dist/ (served by control at /); `npm run dev` serves it on
// 127.0.0.1:5173 with the API and the live feed proxied to a local stack (make run).
import { fileURLToPath, URL } from "node:url";

import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const control = process.env.VIGIA_CONSOLE_API ?? "http://127.0.0.1:8000";
const live = process.env.VIGIA_CONSOLE_LIVE ?? "ws://127.0.0.1:8003";

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    // Longest prefix first: the live feed's WebSocket is not control's.
    proxy: {
      "/api/v1/ws": { target: live, ws: true },
      "/api": { target: control },
      "/.well-known": { target: control },
    },
  },
  build: { target: "es2022", sourcemap: true },
  test: { include: ["src/**/*.test.ts"], environment: "node" },
});
