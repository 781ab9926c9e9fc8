/**
 * What the signed-in user's role lets the console offer. The server enforces every permission
 * (403 otherwise); this only keeps actions a user cannot take out of their way: viewers see no
 * buttons that change anything, operators act on events and the fleet but do not administer.
 */
import { useSyncExternalStore } from "react";

import { session } from "@/app";
import type { components } from "@/api/schema";

export type Role = components["schemas"]["RoleEnum"];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether ``role`` is at least ``needed`` (admin > operator > viewer). */
export function allows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}

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
