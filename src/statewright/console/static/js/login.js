// The login form: POST the token to /api/v1/session (the answer sets the cookie), then go
// to `next` (a path of this site only, and never the log-out page).
import { problemBox, replace } from "./dom.js";

const form = document.getElementById("login-form");
const errorBox = document.getElementById("login-error");

function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  // Only a path of this origin: never "//host" or "https://host".
  if (!next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/";
  // Nor the log-out page, which would end the session just made.
  return new URL(next, location.origin).pathname === "/logout" ? "/" : next;
}

form.addEventListener("submit", async (submitted) => {
  submitted.preventDefault();
  errorBox.hidden = true;
  const button = form.querySelector("button");
  button.disabled = true;
  try {
    const response = await fetch("/api/v1/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ token: form.token.value.trim() }),
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
