// The instances list (filled in below).
import { api } from "./api.js";
import { h, pill, replace, stateText } from "./dom.js";

const root = document.getElementById("instances-page");
api("/instances?limit=100").then((page) => {
  replace(root, h("table", { class: "sw-table" }, h("tbody", {}, page.items.map((item) =>
    h("tr", { "data-testid": "instances-row" },
      h("td", {}, h("a", { href: `/instances/${encodeURIComponent(item.id)}` }, item.id)),
      h("td", { "data-testid": "business-state" }, stateText(item.value)),
      h("td", { "data-testid": "runtime-status" }, pill(item.runtime_status)))))));
});
