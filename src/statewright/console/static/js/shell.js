// The header of every page: who is logged in, whether live updates flow, and log out.
import { live, session } from "./api.js";

session().then((who) => {
  document.querySelector("[data-testid=who-tenant]").textContent = who.tenant;
  const role = document.querySelector("[data-testid=who-role]");
  role.textContent = who.name ? `${who.role} · ${who.name}` : who.role;
}, () => {});

// The zone every time on the pages is shown in (the browser's), named once: operators
// compare them with server logs, which are in UTC.
const zone = document.querySelector("[data-testid=time-zone]");
if (zone) {
  const minutes = -new Date().getTimezoneOffset();
  const pad = (n) => String(n).padStart(2, "0");
  const offset = minutes === 0 ? "UTC"
    : `UTC${minutes > 0 ? "+" : "-"}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone;
  zone.textContent = `times in ${offset}`;
  zone.title = `Times on these pages are in this browser's zone${name ? ` (${name})` : ""}, ` +
    `${offset}; the server logs in UTC.`;
}

const indicator = document.querySelector("[data-testid=live-indicator]");
const banner = document.querySelector("[data-testid=live-banner]");
if (indicator) {
  // The stream is down once a connection failed (closed after connecting), and up again
  // when one opens; in between it goes on trying (connecting, closed, ...). The banner says
  // so: what the page shows may be stale meanwhile (it reads again once live).
  let tried = false;
  let down = false;
  live.onState((state) => {
    indicator.dataset.state = state;
    indicator.title = { open: "Live", connecting: "Connecting…", closed: "Not live" }[state];
    if (state === "open") down = false;
    else if (state === "closed" && tried) down = true;
    if (state !== "closed") tried = true;
    if (banner) banner.hidden = !down;
  });
}

const logoutLink = document.querySelector("[data-testid=logout]");
if (logoutLink) {
  logoutLink.addEventListener("click", async (clicked) => {
    clicked.preventDefault();
    const { logout } = await import("./logout.js");
    logout(document.querySelector("main"));
  });
}
