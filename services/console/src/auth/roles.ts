/**
 * What the signed-in user's role lets the console offer. The server enforces every permission
 * (403 otherwise); this only keeps actions a user cannot take out of their way: viewers see no
 * buttons that change anything, operators act on events and the fleet but do not administer.
 */
import { useSyncExternalStore } from "react";

import { session } from "@/app";

import { allows, type Role } from "./rank";

export { allows, type Role };

/** The signed-in user's role, or undefined when signed out; re-renders when the session changes. */
export function useRole(): Role | undefined {
  const state = useSyncExternalStore(
    (onChange) => session.subscribe(onChange),
    () => session.current,
  );
  return state.status === "signed-in" ? state.user.role : undefined;
}

/** Whether the signed-in user may do what needs ``needed``. */
export function useCan(needed: Role): boolean {
  return allows(useRole(), needed);
}
