// The header of every page: who is logged in, whether live updates flow, and log out.
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

const logoutLink = document.querySelector("[data-testid=logout]");
if (logoutLink) {
  logoutLink.addEventListener("click", async (clicked) => {
    clicked.preventDefault();
    const { logout } = await import("./logout.js");
    logout(document.querySelector("main"));
  });
}
