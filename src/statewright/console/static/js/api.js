// The console's one way to the HTTP API: same-origin fetch with the session cookie, the
// CSRF header on every state-changing request, problem+json errors, the login redirect,
// and one live stream per tab (see docs/console.md). Every URL starts with the root path
// (paths.js).

import { at, consolePath } from "./paths.js";

const PREFIX = at("/api/v1");

/** A refused or failed API call: `.status`, `.problem` (the problem+json), `.message`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem || { status, title: `HTTP ${status}`, detail: `HTTP ${status}` };
  }
}

let leaving = false;

/** Go to the console page `page` for good (logging out): a request still in flight that is
 * answered 401 once the session has ended must not send the page to the login page with a
 * `next` instead (the later navigation would win). */
export function leaveFor(page) {
  leaving = true;
  location.replace(at(page));
}

/** Go to the login page, coming back here afterwards; once, however many calls got a 401
 * (a second navigation would abort the first). Never back to the log-out page: it would
 * end the session just made. */
export function toLogin() {
  if (leaving) return;
  leaving = true;
  const page = consolePath();
  const here = page + location.search;
  location.assign(at(page === "/logout" ? "/login" : `/login?next=${encodeURIComponent(here)}`));
}

let sessionPromise = null;

/** Who is logged in: `{tenant, role, roles, name, payloads, csrf, ...}` (read once). */
export function session() {
  if (sessionPromise === null) {
    sessionPromise = request("/session").catch((error) => {
      sessionPromise = null;
      throw error;
    });
  }
  return sessionPromise;
}

/**
 * Call the API at `path` (e.g. `/instances?state=x`; `/api/v1` is added). Resolves to the
 * parsed JSON (null for 204); on 401 goes to the login page; else rejects with ApiError.
 */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const sent = { ...headers };
  if (method !== "GET" && method !== "HEAD") {
    const { csrf } = await session();
    if (csrf) sent["X-CSRF-Token"] = csrf;
  }
  return request(path, { method, body, headers: sent });
}

async function request(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(PREFIX + path, init);
  } catch (error) {
    throw new ApiError(0, {
      status: 0,
      title: "The server cannot be reached",
      detail: `no answer from the server (${error.message}); check that it runs, then try again`,
    });
  }
  if (response.status === 401) {
    sessionPromise = null;
    toLogin();
    throw new ApiError(401, await problemOf(response));
  }
  if (!response.ok) throw new ApiError(response.status, await problemOf(response));
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  return type.includes("json") ? response.json() : response.text();
}

async function problemOf(response) {
  try {
    return await response.json();
  } catch {
    return { status: response.status, title: response.statusText, detail: `HTTP ${response.status}` };
  }
}

/**
 * The tab's live stream of committed transitions (tenant-wide). `live.on(fn)` returns an
 * unsubscribe function; `fn` gets each transition's data, and `{type: "resync"}` when
 * events may have been missed (read the current state again). `live.state` is
 * "connecting", "open" or "closed"; `live.onState(fn)` follows it.
 */
export const live = (() => {
  const listeners = new Set();
  const stateListeners = new Set();
  let source = null;
  let failures = 0;
  let timer = null;
  let state = "closed";

  function setState(next) {
    state = next;
    for (const fn of stateListeners) fn(next);
  }

  function emit(data) {
    for (const fn of [...listeners]) {
      try {
        fn(data);
      } catch (error) {
        console.error("live listener failed", error);
      }
    }
  }

  function connect() {
    timer = null;
    setState("connecting");
    source = new EventSource(`${PREFIX}/stream`);
    source.addEventListener("open", () => {
      const reconnected = failures > 0;
      failures = 0;
      setState("open");
      if (reconnected) emit({ type: "resync", reason: "reconnected" });
    });
    source.addEventListener("transition", (message) => emit(JSON.parse(message.data)));
    source.addEventListener("resync", (message) => emit({ type: "resync", ...JSON.parse(message.data) }));
    source.addEventListener("error", () => {
      // Reconnect ourselves, after a jittered back-off, so that a restarted server is not
      // met by every tab at once; then tell the listeners to read again (`resync`).
      source.close();
      source = null;
      failures += 1;
      setState("closed");
      if (listeners.size === 0) return;
      const base = Math.min(30000, 1000 * 2 ** Math.min(failures - 1, 5));
      const delay = base / 2 + Math.random() * base;
      timer = setTimeout(() => {
        // A 401 ends the session: the API call goes to the login page.
        request("/session").then(connect, () => { if (listeners.size) timer = setTimeout(connect, delay); });
      }, delay);
    });
  }

  return {
    on(fn) {
      listeners.add(fn);
      if (source === null && timer === null) connect();
      return () => {
        listeners.delete(fn);
        if (listeners.size === 0 && source !== null) {
          source.close();
          source = null;
          setState("closed");
        }
      };
    },
    onState(fn) {
      stateListeners.add(fn);
      fn(state);
      return () => stateListeners.delete(fn);
    },
    get state() {
      return state;
    },
  };
})();
