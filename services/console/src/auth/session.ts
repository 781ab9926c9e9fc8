/**
 * The signed-in session: the access token lives in this object's memory only (never in storage a
 * script could read later), the refresh token in control's httpOnly cookie (header
 * ``X-Vigia-Session: cookie``; see vigia.control.tenancy.refresh_cookie). A reload restores the
 * session by spending the cookie; the access token is renewed shortly before it expires, and on a
 * 401, with one refresh in flight however many callers ask — and however many tabs: the cookie is
 * one per browser, and two tabs spending it at once (a browser restoring its tabs, two reloads)
 * would look like a stolen token replayed and end the session, so tabs take turns through a Web
 * Lock, each spending the cookie the previous one left.
 *
 * Page scripts cannot see the httpOnly cookie, so a non-secret hint in localStorage says whether
 * there is one to spend: a page opened signed out does not ask control for a refresh it would
 * refuse (a 4xx the browser logs as an error).
 */
import type { components } from "@/api/schema";

export type User = components["schemas"]["User"];
type TokenPair = components["schemas"]["TokenPair"];

export type SessionState =
  | { status: "unknown" }
  | { status: "signed-out"; reason?: "expired" | "logged-out" | "idle" }
  | { status: "signed-in"; user: User };

/** Why a sign-in was refused, in words the page translates. */
export type SignInError = "invalid_credentials" | "throttled" | "organization_disabled" | "unavailable";

export type SignInResult = { ok: true; user: User } | { ok: false; error: SignInError; retryAfterS?: number };

const AUTH = "/api/v1/auth";
const COOKIE_HEADERS = { "Content-Type": "application/json", "X-Vigia-Session": "cookie" };
/** Renew this long before the access token expires (clock skew, a slow network). */
const RENEW_MARGIN_S = 60;

type Timer = ReturnType<typeof setTimeout>;

/** Where the "a refresh cookie was issued" hint is kept (localStorage in the browser). */
export interface HintStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

const HINT_KEY = "vigia.session";
/** The Web Lock every tab of this origin takes to spend the refresh cookie. */
export const REFRESH_LOCK = "vigia.refresh";

/** The part of the Web Locks API the session uses (navigator.locks in the browser). */
export interface Locks {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

function browserLocks(): Locks | undefined {
  return typeof navigator !== "undefined" && navigator.locks ? navigator.locks : undefined;
}

function browserStore(): HintStore {
  if (typeof localStorage !== "undefined") return localStorage;
  const memory = new Map<string, string>();
  return {
    getItem: (key) => memory.get(key) ?? null,
    setItem: (key, value) => void memory.set(key, value),
    removeItem: (key) => void memory.delete(key),
  };
}

export class Session {
  private state: SessionState = { status: "unknown" };
  private access: string | null = null;
  private renewal: Timer | null = null;
  private refreshing: Promise<boolean> | null = null;
  private readonly listeners = new Set<(state: SessionState) => void>();

  constructor(
    private readonly fetcher: typeof fetch = (...args) => fetch(...args),
    private readonly hints: HintStore = browserStore(),
    private readonly locks: Locks | undefined = browserLocks(),
  ) {}

  get current(): SessionState {
    return this.state;
  }

  /** The access token for an ``Authorization: Bearer`` header, or null when signed out. */
  get accessToken(): string | null {
    return this.access;
  }

  subscribe(listener: (state: SessionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async signIn(email: string, password: string): Promise<SignInResult> {
    let response: Response;
    try {
      response = await this.fetcher(`${AUTH}/login`, {
        method: "POST", headers: COOKIE_HEADERS, credentials: "same-origin", body: JSON.stringify({ email, password }),
      });
    } catch {
      return { ok: false, error: "unavailable" };
    }
    if (response.ok) {
      const user = this.accept((await response.json()) as TokenPair);
      return { ok: true, user };
    }
    if (response.status === 429) {
      const retry = Number(response.headers.get("Retry-After"));
      return { ok: false, error: "throttled", ...(Number.isFinite(retry) && retry > 0 ? { retryAfterS: retry } : {}) };
    }
    if (response.status === 403) return { ok: false, error: "organization_disabled" };
    if (response.status === 401 || response.status === 400) return { ok: false, error: "invalid_credentials" };
    return { ok: false, error: "unavailable" };
  }

  /**
   * Spend the refresh cookie for a new access token. Concurrent callers share one request, and
   * other tabs wait for it (a second spend of the same token would look like a replay and end the
   * session). Resolves false, and signs out, when the cookie no longer works.
   */
  refresh(): Promise<boolean> {
    const spend = () => this.spendCookie();
    this.refreshing ??= (this.locks ? this.locks.request(REFRESH_LOCK, spend) : spend()).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** On start-up: signed in again from the cookie, or signed out (at once when none was issued). */
  async restore(): Promise<SessionState> {
    if (this.hints.getItem(HINT_KEY) === null) {
      this.set({ status: "signed-out" });
      return this.state;
    }
    await this.refresh();
    return this.state;
  }

  /** End the session: the operator signed out, or (``idle``) the console did for want of input. */
  async signOut(reason: "logged-out" | "idle" = "logged-out"): Promise<void> {
    this.forget({ status: "signed-out", reason });
    try {
      await this.fetcher(`${AUTH}/logout`, { method: "POST", headers: COOKIE_HEADERS, credentials: "same-origin", body: "{}" });
    } catch {
      // The cookie expires on its own; the session is over on this side either way.
    }
  }

  private async spendCookie(): Promise<boolean> {
    let response: Response;
    try {
      response = await this.fetcher(`${AUTH}/refresh`, {
        method: "POST", headers: COOKIE_HEADERS, credentials: "same-origin", body: "{}",
      });
    } catch {
      if (this.state.status === "unknown") this.set({ status: "signed-out" });
      return false; // offline: keep a signed-in session, the next call retries
    }
    if (!response.ok) {
      this.forget({ status: "signed-out", reason: this.state.status === "signed-in" ? "expired" : undefined });
      return false;
    }
    this.accept((await response.json()) as TokenPair);
    return true;
  }

  private accept(pair: TokenPair): User {
    this.access = pair.access;
    this.hints.setItem(HINT_KEY, "cookie");
    this.schedule(pair.expires_in);
    this.set({ status: "signed-in", user: pair.user });
    return pair.user;
  }

  private schedule(expiresInS: number): void {
    if (this.renewal !== null) clearTimeout(this.renewal);
    const delayS = Math.max(expiresInS - RENEW_MARGIN_S, expiresInS / 2);
    this.renewal = setTimeout(() => void this.refresh(), delayS * 1000);
  }

  private forget(next: SessionState): void {
    this.access = null;
    this.hints.removeItem(HINT_KEY);
    if (this.renewal !== null) clearTimeout(this.renewal);
    this.renewal = null;
    this.set(next);
  }

  private set(next: SessionState): void {
    this.state = next;
    for (const listener of this.listeners) listener(next);
  }
}
