import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { Session } from "./session";

const user = { id: "u1", email: "ana@acme.example", name: "Ana", role: "operator", is_active: true, org: null };

function pair(access: string, expiresIn = 900) {
  return { access, token_type: "Bearer", expires_in: expiresIn, refresh_expires_in: 86400, user };
}

type Call = { url: string; init: RequestInit };

/** A control plane stand-in that answers by path and records what the session sent. */
function fakeControl(answers: Record<string, () => Response>) {
  const calls: Call[] = [];
  const fetcher = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    calls.push({ url, init: init ?? {} });
    const answer = answers[url];
    if (!answer) throw new Error(`unexpected ${url}`);
    return answer();
  });
  return { calls, fetcher: fetcher as unknown as typeof fetch };
}

function memoryHints() {
  const values = new Map<string, string>();
  return {
    getItem: (key: string) => values.get(key) ?? null,
    setItem: (key: string, value: string) => void values.set(key, value),
    removeItem: (key: string) => void values.delete(key),
  };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("Session", () => {
  it("signs in asking for the refresh cookie and keeps only the access token", async () => {
    const control = fakeControl({ "/api/v1/auth/login": () => json(pair("A1")) });
    const session = new Session(control.fetcher);
    const states: string[] = [];
    session.subscribe((s) => states.push(s.status));

    const result = await session.signIn("ana@acme.example", "secret-password");

    expect(result).toEqual({ ok: true, user });
    expect(session.accessToken).toBe("A1");
    expect(states).toEqual(["signed-in"]);
    const sent = control.calls[0]!.init;
    expect((sent.headers as Record<string, string>)["X-Vigia-Session"]).toBe("cookie");
    expect(sent.credentials).toBe("same-origin");
  });

  it("tells wrong credentials from a lock-out", async () => {
    let status = 401;
    const control = fakeControl({
      "/api/v1/auth/login": () => json({ error: {} }, status, status === 429 ? { "Retry-After": "120" } : {}),
    });
    const session = new Session(control.fetcher);
    expect(await session.signIn("a@b.c", "x")).toEqual({ ok: false, error: "invalid_credentials" });
    status = 429;
    expect(await session.signIn("a@b.c", "x")).toEqual({ ok: false, error: "throttled", retryAfterS: 120 });
    expect(session.accessToken).toBeNull();
  });

  it("restores a session from the cookie after a reload", async () => {
    const hints = memoryHints();
    const control = fakeControl({
      "/api/v1/auth/login": () => json(pair("A1")),
      "/api/v1/auth/refresh": () => json(pair("A2")),
    });
    await new Session(control.fetcher, hints).signIn("a@b.c", "x");
    const reloaded = new Session(control.fetcher, hints);
    expect((await reloaded.restore()).status).toBe("signed-in");
    expect(reloaded.accessToken).toBe("A2");
  });

  it("does not ask for a refresh when no cookie was issued, and forgets a refused one", async () => {
    const hints = memoryHints();
    const control = fakeControl({ "/api/v1/auth/refresh": () => json({}, 401) });
    expect(await new Session(control.fetcher, hints).restore()).toEqual({ status: "signed-out" });
    expect(control.calls).toHaveLength(0);
    hints.setItem("vigia.session", "cookie"); // issued once, since expired on the server
    expect(await new Session(control.fetcher, hints).restore()).toEqual({ status: "signed-out" });
    expect(control.calls).toHaveLength(1);
    expect(hints.getItem("vigia.session")).toBeNull();
  });

  it("spends the cookie once for concurrent refreshes", async () => {
    let n = 0;
    const control = fakeControl({ "/api/v1/auth/refresh": () => json(pair(`A${++n}`)) });
    const session = new Session(control.fetcher);
    const results = await Promise.all([session.refresh(), session.refresh(), session.refresh()]);
    expect(results).toEqual([true, true, true]);
    expect(control.calls).toHaveLength(1);
    expect(session.accessToken).toBe("A1");
  });

  it("renews the access token a minute before it expires", async () => {
    let n = 0;
    const control = fakeControl({
      "/api/v1/auth/login": () => json(pair("A0", 900)),
      "/api/v1/auth/refresh": () => json(pair(`R${++n}`, 900)),
    });
    const session = new Session(control.fetcher);
    await session.signIn("a@b.c", "x");
    await vi.advanceTimersByTimeAsync(839_000);
    expect(session.accessToken).toBe("A0");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(session.accessToken).toBe("R1");
    await vi.advanceTimersByTimeAsync(840_000);
    expect(session.accessToken).toBe("R2");
  });

  it("is signed out as expired when the cookie stops working", async () => {
    const control = fakeControl({
      "/api/v1/auth/login": () => json(pair("A0")),
      "/api/v1/auth/refresh": () => json({ error: { code: "token_reused" } }, 401),
    });
    const session = new Session(control.fetcher);
    await session.signIn("a@b.c", "x");
    expect(await session.refresh()).toBe(false);
    expect(session.current).toEqual({ status: "signed-out", reason: "expired" });
    expect(session.accessToken).toBeNull();
  });

  it("logs out: forgets the token at once and asks control to revoke the cookie", async () => {
    const control = fakeControl({
      "/api/v1/auth/login": () => json(pair("A0")),
      "/api/v1/auth/logout": () => new Response(null, { status: 204 }),
    });
    const session = new Session(control.fetcher);
    await session.signIn("a@b.c", "x");
    await session.signOut();
    expect(session.accessToken).toBeNull();
    expect(session.current).toEqual({ status: "signed-out", reason: "logged-out" });
    expect(control.calls.map((c) => c.url)).toEqual(["/api/v1/auth/login", "/api/v1/auth/logout"]);
    // No renewal fires after logout.
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(control.calls).toHaveLength(2);
  });
});

/** Control's refresh as it is: one cookie per browser, rotated on each spend; a spent one again revokes everything. */
function rotatingControl() {
  let cookie = "R0";
  const spent = new Set<string>();
  let revoked = false;
  let n = 0;
  const refreshFor = async () => {
    const sent = cookie; // the browser attaches the jar's cookie when the request leaves
    await new Promise((resolve) => setTimeout(resolve, 5)); // on the wire
    if (revoked || spent.has(sent)) {
      revoked = true;
      return json({ error: { code: "token_reused" } }, 401);
    }
    spent.add(sent);
    cookie = `R${++n}`;
    return json(pair(`A${n}`));
  };
  const fetcher = (async (input: RequestInfo | URL) => {
    if (String(input) !== "/api/v1/auth/refresh") throw new Error(`unexpected ${String(input)}`);
    return refreshFor();
  }) as unknown as typeof fetch;
  return { fetcher, revoked: () => revoked };
}

/** One Web Lock manager for every "tab": callbacks of a name run one after another. */
function sharedLocks() {
  const tails = new Map<string, Promise<unknown>>();
  return {
    request<T>(name: string, callback: () => Promise<T>): Promise<T> {
      const run = (tails.get(name) ?? Promise.resolve()).then(callback, callback);
      tails.set(name, run.catch(() => undefined));
      return run;
    },
  };
}

describe("Session across tabs", () => {
  it("two tabs restoring at once both stay signed in: they take turns spending the cookie", async () => {
    vi.useRealTimers();
    const control = rotatingControl();
    const hints = memoryHints();
    hints.setItem("vigia.session", "cookie");
    const locks = sharedLocks();
    const [a, b] = [new Session(control.fetcher, hints, locks), new Session(control.fetcher, hints, locks)];
    await Promise.all([a.restore(), b.restore()]);
    expect([a.current.status, b.current.status]).toEqual(["signed-in", "signed-in"]);
    expect(new Set([a.accessToken, b.accessToken])).toEqual(new Set(["A1", "A2"]));
    expect(control.revoked()).toBe(false);
  });

  it("without the lock the second tab replays the cookie and the session ends (what the lock prevents)", async () => {
    vi.useRealTimers();
    const control = rotatingControl();
    const hints = memoryHints();
    hints.setItem("vigia.session", "cookie");
    const [a, b] = [new Session(control.fetcher, hints, undefined), new Session(control.fetcher, hints, undefined)];
    await Promise.all([a.restore(), b.restore()]);
    expect([a.current.status, b.current.status].sort()).toEqual(["signed-in", "signed-out"]);
    expect(control.revoked()).toBe(true);
  });
});
