// Where the console is served: "" at the root of its host name, "/statewright" under a path
// prefix (`statewright serve --root-path /statewright` behind a proxy). Read from this
// module's own URL (ROOT/static/js/paths.js), so that every page knows it without being told.
// Every URL a script makes (API calls, the live stream, links, the address bar) goes through
// `at`; a path within the console (`next` of the login page) is kept without the prefix.

export const ROOT = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The URL of `path`, a path of this server ("/instances/x" → "/statewright/instances/x"). */
export function at(path) {
  return ROOT + path;
}

/** This page's path within the console, without the prefix ("/statewright/queues" → "/queues"). */
export function consolePath() {
  const path = location.pathname;
  if (ROOT && (path === ROOT || path.startsWith(`${ROOT}/`))) return path.slice(ROOT.length) || "/";
  return path;
}
