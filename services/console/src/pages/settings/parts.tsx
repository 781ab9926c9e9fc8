/** Small pieces the settings pages share: a select styled like the inputs, a field with its label
 * and hint, the outcome line of an action, and the organization's zone for times. */
import { useQuery } from "@tanstack/react-query";
import type * as React from "react";

import { Label } from "@/components/ui/label";
import { DEFAULT_TIME_ZONE } from "@/lib/format";
import { cn } from "@/lib/utils";
import { organizationSettings } from "@/pages/dashboard-queries";

export function Select({ className, ...props }: React.ComponentProps<"select">) {
  return (
    <select
      className={cn("h-9 rounded-md border border-input bg-background px-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring disabled:opacity-50", className)}
      {...props}
    />
  );
}

export function Field({ id, label, hint, children, className }: {
  id: string; label: string; hint?: string; children: React.ReactNode; className?: string;
}) {
  return (
    <div className={cn("flex flex-col gap-1.5", className)}>
      <Label htmlFor={id}>{label}</Label>
      {children}
      {hint && <p id={`${id}-hint`} className="text-xs text-muted-foreground">{hint}</p>}
    </div>
  );
}

/** What the last action did: a status line, or an alert when control refused it. */
export type Outcome = { ok: boolean; text: string } | null;

export function OutcomeLine({ outcome, testId }: { outcome: Outcome; testId?: string }) {
  if (!outcome) return null;
  return outcome.ok ? (
    <p role="status" className="text-sm text-emerald-700 dark:text-emerald-400" data-testid={testId}>{outcome.text}</p>
  ) : (
    <p role="alert" className="text-sm text-destructive" data-testid={testId}>{outcome.text}</p>
  );
}

export function useTimeZone(): string {
  return useQuery(organizationSettings).data ?? DEFAULT_TIME_ZONE;
}

export const TH = "px-3 py-2 text-left font-medium text-muted-foreground";
export const TD = "px-3 py-2 align-top";
/** A cell of a table that is a card on a phone: the card's padding instead of the cell's. */
export const PHONE = "max-sm:px-3 max-sm:py-0";
