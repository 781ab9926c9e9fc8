/** The console's singletons: the session, the API client bound to it, and the query cache. */
import { QueryClient } from "@tanstack/react-query";

import { createApi } from "@/api/client";
import { Session } from "@/auth/session";

export const session = new Session();
export const api = createApi(session, window.location.origin);
export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 30_000, retry: 1, refetchOnWindowFocus: false } },
});

// Whatever one user saw is gone from memory when they sign out or their session ends.
session.subscribe((state) => {
  if (state.status === "signed-out") queryClient.clear();
});
