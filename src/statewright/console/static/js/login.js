// The login form: POST the token to /api/v1/session (the answer sets the cookie), then go
// to `next` (a path of this console only, without the root path, and never the log-out page).
import { problemBox, replace } from "./dom.js";
import { at } from "./paths.js";

const form = document.getElementById("login-form");
const errorBox = document.getElementById("login-error");

function nextPath() {
  return at(nextInConsole());
}

function nextInConsole() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  // Only a path of this origin: never "//host" or "https://host". The text is read as the
  // browser reads a URL (which drops tabs and newlines: "/\t/host" is "//host"), and only
  // the path, query and fragment of what it resolves to are kept.
  if (!next.startsWith("/")) return "/";
  let url;
  try {
    url = new URL(next, location.origin);
  } catch {
    return "/";
  }
  if (url.origin !== location.origin || url.pathname.startsWith("//")) return "/";
  // Nor the log-out page, which would end the session just made.
  if (url.pathname === "/logout") return "/";
  return url.pathname + url.search + url.hash;
}

form.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  errorBox.hidden = true;
  const token = form.token.value.trim();
  if (!token) {  // only spaces: `required` lets them through
    const problem = { title: "No token", detail: "Paste an API token (sw_...) here: statewright tokens create prints one." };
    replace(errorBox, problemBox({ problem }));
    errorBox.hidden = false;
    form.token.focus();
    return;
  }
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch(at("/api/v1/session"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token }),
    });
    if (response.status === 201) {
      location.assign(nextPath());
      return;
    }
    let problem;
    try {
      problem = await response.json();
    } catch {
      problem = { status: response.status, title: "Login failed", detail: `HTTP ${response.status}` };
    }
    replace(errorBox, problemBox({ problem }));
    errorBox.hidden = false;
  } catch (error) {
    replace(errorBox, problemBox(error));
    errorBox.hidden = false;
  } finally {
    button.disabled = false;
  }
});
