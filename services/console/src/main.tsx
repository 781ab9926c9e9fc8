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
  // A session that ends while a page is open (logout, refresh refused) leads back to sign-in.
  session.subscribe((state) => {
    if (state.status === "signed-out") void router.navigate({ to: "/sign-in", search: {} });
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
