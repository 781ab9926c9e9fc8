/** Numbers typed in the settings forms, as control is sent them. Pure, so Vitest covers it. */

/** A decimal typed in a field ("0,8" or "0.8"), null for an empty one (back to the default), else
 * the text as typed, for control to refuse naming the field. */
export function decimalOrNull(text: FormDataEntryValue | null): number | null | string {
  const value = String(text ?? "").trim();
  if (value === "") return null;
  return /^\d*[.,]?\d+$/.test(value) ? Number(value.replace(",", ".")) : value;
}
