/**
 * Where to go after signing in: the ``redirect`` search param names a page of this console, never
 * another site (``//evil.example`` and ``https://…`` are absolute and refused: no open redirect).
 */
export function safeRedirect(target: unknown): string {
  if (typeof target !== "string" || !target.startsWith("/") || target.startsWith("//") || target.startsWith("/\\")) {
    return "/";
  }
  return target;
}
