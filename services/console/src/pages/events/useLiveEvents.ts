/**
 * The live feed for the events pages: each ``new_event`` message goes into the Query cache (every
 * loaded list it belongs in, and the event's own page), nothing refetched (live.ts); so does each
 * ``event_triaged`` (another operator's decision: status, who and when), and only a list whose
 * status filter may now take the event in is asked again.
 */
import { type QueryClient, useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";

import { session } from "@/app";
import type { FeedMessage } from "@/live/messages";
import { useLiveFeed } from "@/live/useLiveFeed";

import {
  applyLiveEvent, applyTriage, type EventPages, holds, type LiveEvent, mayNowBelong, type TriagedEvent, triagedRow,
} from "./live";
import { eventDetail, LIST_KEY } from "./queries";
import type { EventRow, EventSearch } from "./search";

/** How long the recorder is given to store an event the feed announced while a list was loading. */
const RECORDER_GRACE_MS = 1500;

export function applyToCache(queryClient: QueryClient, live: LiveEvent, now = new Date()): void {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: LIST_KEY })) {
    if (query.state.fetchStatus === "fetching") {
      // The answer on its way may predate the event: ask again once the recorder has stored it.
      const key = query.queryKey;
      setTimeout(() => void queryClient.invalidateQueries({ queryKey: key, exact: true }), RECORDER_GRACE_MS);
      continue;
    }
    const search = (query.queryKey[2] ?? {}) as EventSearch;
    const before = query.state.data as EventPages | undefined;
    const after = applyLiveEvent(before, live, search, now);
    if (after !== before) queryClient.setQueryData(query.queryKey, after);
  }
  const detail = eventDetail(live.id).queryKey;
  const current = queryClient.getQueryData<EventRow>(detail);
  if (current) {
    const merged = applyLiveEvent({ pages: [{ results: [current] }], pageParams: [undefined] }, live, {}, now);
    const row = merged?.pages[0]?.results[0];
    if (row) queryClient.setQueryData(detail, row);
  }
}

/** An operator's decision into every loaded list and the event's own page. Control saved it before
 * the feed heard of it, so an answer still on its way may predate it: that query is asked again. */
export function applyTriageToCache(queryClient: QueryClient, triaged: TriagedEvent, now = new Date()): void {
  const again = (queryKey: readonly unknown[]) => void queryClient.invalidateQueries({ queryKey, exact: true });
  for (const query of queryClient.getQueryCache().findAll({ queryKey: LIST_KEY })) {
    if (query.state.fetchStatus === "fetching") {
      again(query.queryKey);
      continue;
    }
    const search = (query.queryKey[2] ?? {}) as EventSearch;
    const before = query.state.data as EventPages | undefined;
    const after = applyTriage(before, triaged, search, now);
    if (after !== before) queryClient.setQueryData(query.queryKey, after);
    else if (before && !holds(before, triaged.id) && mayNowBelong(search, triaged)) again(query.queryKey);
  }
  const detail = queryClient.getQueryCache().find({ queryKey: eventDetail(triaged.id).queryKey, exact: true });
  if (!detail) return;
  const current = detail.state.data as EventRow | undefined;
  if (detail.state.fetchStatus === "fetching") again(detail.queryKey);
  else if (current) {
    const row = triagedRow(current, triaged);
    if (row !== current) queryClient.setQueryData(detail.queryKey, row);
  }
}

export function useLiveEvents() {
  const queryClient = useQueryClient();
  const onMessage = useCallback((message: FeedMessage) => {
    if (message.type === "new_event") applyToCache(queryClient, message.event as unknown as LiveEvent);
    else if (message.type === "event_triaged") applyTriageToCache(queryClient, message.event as unknown as TriagedEvent);
    else return;
    void queryClient.invalidateQueries({ queryKey: ["dashboard"] });
  }, [queryClient]);
  return useLiveFeed(session, onMessage);
}
