// Log out: end the session (DELETE /api/v1/session, with the CSRF header), then go to the
// login page. Done on a click only: a link from another site cannot log anyone out.
import { api, leaveFor } from "./api.js";
import { problemBox, replace } from "./dom.js";

/** End the session and show the login page; a refusal is shown in `where`. */
export async function logout(where) {
  try {
    await api("/session", { method: "DELETE" });
    leaveFor("/login");
  } catch (error) {
    if (error.status !== 401 && where) replace(where, problemBox(error));
  }
}

const button = document.getElementById("logout-button");
if (button) button.addEventListener("click", () => logout(document.getElementById("logout-status")));
