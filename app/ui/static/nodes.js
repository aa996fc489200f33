// Render nodes (GET /nodes): each node's id, host, capacity and load (a bar), the channels it
// holds, how long ago it was heard from and its state: up, draining (handing its channels
// over before it exits) or lost (silent for over a second; listed for a minute after).
import { byId, el, showMessage, syncList } from "./dom.js";

const units = (value) => value.toFixed(value < 10 ? 2 : 1);

export class NodesPanel {
  constructor(api) {
    this.api = api;
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.list = byId("node-list");
    this.note = byId("nodes-error");
  }

  async refresh() {
    const read = ++this.reads;
    let nodes;
    try {
      nodes = (await this.api.get("/nodes")).body.nodes;
    } catch (error) {
      if (read === this.reads) showMessage(this.note, `Render nodes unavailable: ${error.message}`);
      return;
    }
    if (read !== this.reads) return;
    showMessage(this.note, "");
    syncList(this.list, nodes, (node) => node.id, (node) => this.row(node),
      (row, node) => this.fill(row, node));
    byId("nodes-empty").hidden = nodes.length > 0;
  }

  row(node) {
    const parts = {
      state: el("span", { class: "node-state" }),
      host: el("span", { class: "host" }),
      fill: el("span", { class: "load-fill" }),
      load: el("span", { class: "load-text" }),
      channels: el("span", { class: "node-channels" }),
      heard: el("span", { class: "heard" }),
    };
    parts.bar = el("span", { class: "load-bar", role: "meter", "aria-valuemin": 0,
      "aria-label": `Load of node ${node.id}` }, parts.fill);
    const row = el("li", {}, el("span", { class: "node-id", text: node.id }), parts.state,
      parts.host, el("span", { class: "load" }, parts.bar, parts.load), parts.channels,
      parts.heard);
    row.parts = parts;
    return row;
  }

  fill(row, node) {
    const { parts } = row;
    row.dataset.state = node.state;
    parts.state.dataset.state = node.state;
    parts.state.textContent = node.state;
    parts.host.textContent = `host ${node.host}`;
    const share = node.capacity > 0 ? Math.min(1, node.load / node.capacity) : 1;
    parts.fill.style.width = `${(share * 100).toFixed(1)}%`;
    parts.bar.dataset.full = String(node.load > node.capacity * 0.9);
    parts.bar.setAttribute("aria-valuemax", node.capacity);
    parts.bar.setAttribute("aria-valuenow", node.load);
    parts.load.textContent = `load ${units(node.load)} of ${units(node.capacity)}`;
    parts.channels.textContent = node.channels.length
      ? `channels: ${node.channels.join(", ")}` : "no channels";
    parts.heard.textContent = `heard ${node.heartbeatAge.toFixed(1)} s ago`;
  }
}
