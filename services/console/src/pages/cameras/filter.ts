/** The grid's filter (``?q=``): cameras whose name, site or place contains it, case and accents ignored. */
export function matches(camera: { name: string; site?: string; location?: string }, q: string | undefined): boolean {
  if (!q?.trim()) return true;
  const fold = (s: string) => s.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLowerCase();
  const needle = fold(q.trim());
  return [camera.name, camera.site ?? "", camera.location ?? ""].some((s) => fold(s).includes(needle));
}
