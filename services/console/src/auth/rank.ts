/** The roles' order: admin > operator > viewer. Pure, so it is tested without a browser. */
import type { components } from "@/api/schema";

export type Role = components["schemas"]["RoleEnum"];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether ``role`` is at least ``needed``; nothing is allowed when signed out (undefined). */
export function allows(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
