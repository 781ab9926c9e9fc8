/** Start-up: translations, restore the session from the refresh cookie, then draw the router. */
import "./index.css";
import "./i18n";

import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { queryClient, session } from "./app";
import { router } from "./router";

async function start(): Promise<void> {
  await session.restore();
  // A session that ends while a page is open (logout, refresh refused, idle) leads back to sign-in;
  // one that ended by itself comes back to the page it was on once the operator signs in again.
  session.subscribe((state) => {
    if (state.status !== "signed-out") return;
    const here = router.state.location.href;
    const back = state.reason !== "logged-out" && !here.startsWith("/sign-in") ? { redirect: here } : {};
    void router.navigate({ to: "/sign-in", search: back });
  });
  createRoot(document.getElementById("root")!).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </StrictMode>,
  );
}

void start();
