/**
 * The idle session time-out: no keyboard, pointer, wheel or touch input for the organization's
 * ``session_idle_minutes`` (default 30) signs the operator out, and the sign-in page says why.
 * Input in any tab of the console counts (the last input's time is shared through localStorage),
 * so an operator reading one tab is not signed out by another.
 */
import { useEffect } from "react";

export const DEFAULT_IDLE_MINUTES = 30;
const SHARED_KEY = "vigia.activity";
/** How often input is written down and the time-out checked: coarse, input is frequent. */
const RESOLUTION_MS = 5_000;
const INPUT_EVENTS = ["keydown", "pointerdown", "pointermove", "wheel", "touchstart", "scroll"] as const;

/** Whether a session whose last input was at ``lastInputMs`` has been idle ``minutes`` at ``nowMs``. */
export function isIdle(lastInputMs: number, nowMs: number, minutes: number): boolean {
  return nowMs - lastInputMs >= minutes * 60_000;
}

/** The later of this tab's last input and the one other tabs wrote down (ignored when unreadable). */
export function latestInput(local: number, shared: string | null): number {
  const other = Number(shared);
  return Number.isFinite(other) && other > local ? other : local;
}

/** Calls ``onIdle`` once the page has seen no input for ``minutes``; off when ``minutes`` is null. */
export function useIdleTimeout(minutes: number | null, onIdle: () => void): void {
  useEffect(() => {
    if (minutes === null || minutes <= 0) return;
    let last = Date.now();
    let written = 0;
    const noteInput = () => {
      last = Date.now();
      if (last - written >= RESOLUTION_MS) {
        written = last;
        localStorage.setItem(SHARED_KEY, String(last));
      }
    };
    noteInput();
    const check = () => {
      if (isIdle(latestInput(last, localStorage.getItem(SHARED_KEY)), Date.now(), minutes)) onIdle();
    };
    const timer = setInterval(check, Math.min(RESOLUTION_MS, minutes * 15_000));
    for (const name of INPUT_EVENTS) window.addEventListener(name, noteInput, { passive: true, capture: true });
    return () => {
      clearInterval(timer);
      for (const name of INPUT_EVENTS) window.removeEventListener(name, noteInput, { capture: true });
    };
  }, [minutes, onIdle]);
}
