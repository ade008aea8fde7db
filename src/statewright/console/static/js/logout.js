// Log out: end the session (DELETE /api/v1/session, with the CSRF header), then go to login.
import { api } from "./api.js";
import { problemBox, replace } from "./dom.js";

const status = document.getElementById("logout-status");
api("/session", { method: "DELETE" }).then(
  () => location.replace("/login"),
  (error) => {
    if (error.status !== 401) replace(status, problemBox(error));
  },
);
