// The header of every page: who is logged in, and whether live updates flow.
import { live, session } from "./api.js";

session().then((who) => {
  document.querySelector("[data-testid=who-tenant]").textContent = who.tenant;
  const role = document.querySelector("[data-testid=who-role]");
  role.textContent = who.name ? `${who.role} · ${who.name}` : who.role;
}, () => {});

const indicator = document.querySelector("[data-testid=live-indicator]");
if (indicator) {
  live.onState((state) => {
    indicator.dataset.state = state;
    indicator.title = { open: "Live", connecting: "Connecting…", closed: "Not live" }[state];
  });
}
