/**
 * The live feed as React state: one WebSocket per signed-in page, reconnecting with back-off; a
 * 4401 close (token expired or refused) renews the access token first. Each message also goes to
 * ``onMessage`` so callers can refresh the queries it makes stale.
 */
import { useEffect, useRef, useState } from "react";

import type { Session } from "@/auth/session";

import { CLOSE_BAD_REQUEST, CLOSE_UNAUTHORIZED, type FeedMessage, liveUrl, parseFeedMessage, prepend } from "./messages";

export type FeedConnection = "connecting" | "open" | "closed";

const KEEP = 50;
const MAX_BACKOFF_MS = 15_000;

function metaLiveUrl(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[name="vigia-live-url"]')?.content ?? null;
}

export function useLiveFeed(session: Session, onMessage?: (message: FeedMessage) => void) {
  const [messages, setMessages] = useState<FeedMessage[]>([]);
  const [connection, setConnection] = useState<FeedConnection>("connecting");
  const handler = useRef(onMessage);
  handler.current = onMessage;

  useEffect(() => {
    let socket: WebSocket | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let attempts = 0;
    let stopped = false;

    const connect = () => {
      const token = session.accessToken;
      if (stopped || !token) return;
      setConnection("connecting");
      const url = new URL(liveUrl(metaLiveUrl(), window.location));
      url.searchParams.set("token", token);
      socket = new WebSocket(url);
      socket.onopen = () => {
        attempts = 0;
        setConnection("open");
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        const message = parseFeedMessage(event.data);
        if (!message) return;
        setMessages((list) => prepend(list, message, KEEP));
        handler.current?.(message);
      };
      socket.onclose = (event) => {
        setConnection("closed");
        if (stopped || event.code === CLOSE_BAD_REQUEST) return;
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempts++);
        retry = setTimeout(async () => {
          if (event.code === CLOSE_UNAUTHORIZED && !(await session.refresh())) return;
          connect();
        }, delay);
      };
    };

    connect();
    return () => {
      stopped = true;
      if (retry !== null) clearTimeout(retry);
      socket?.close(1000, "page closed");
    };
  }, [session]);

  return { messages, connection };
}
