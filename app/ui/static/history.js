// History: the latest changes (GET /stream/history), newest first, each with its number, time,
// where it came from (api, cue, undo, redo), the role, what it did and the layers it touched.
// Read at load, after every layerUpdate (a batch's sub-events come as several, read once) and
// whenever the stream's state changes (a start or stop is a change too).
import { byId, el, showMessage, syncList } from "./dom.js";
import { timeOfDay } from "./format.js";

const LIMIT = 30;
// A batch may touch a hundred layers: the row names the first few.
const NAMES_SHOWN = 4;

// The layers an entry touched, by the names its before and after dumps give (a layer's id
// where neither has it, as for a stream change's none).
export function touched(entry) {
  const names = new Map();
  for (const layer of [...(entry.before ?? []), ...(entry.after ?? [])]) {
    if (layer?.id && layer.name) names.set(layer.id, layer.name);
  }
  const all = (entry.ids ?? []).map((id) => names.get(id) ?? id);
  if (all.length <= NAMES_SHOWN) return all.join(", ");
  return `${all.slice(0, NAMES_SHOWN).join(", ")} and ${all.length - NAMES_SHOWN} more`;
}

export class HistoryPanel {
  constructor(api) {
    this.api = api;
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.list = byId("history-list");
    this.note = byId("history-error");
  }

  async refresh() {
    const read = ++this.reads;
    let entries;
    try {
      entries = (await this.api.get(`/stream/history?limit=${LIMIT}`)).body.entries;
    } catch (error) {
      if (read === this.reads) showMessage(this.note, `History unavailable: ${error.message}`);
      return;
    }
    if (read !== this.reads) return;
    showMessage(this.note, "");
    syncList(this.list, entries, (entry) => entry.seq, () => this.row(), (row, entry) => this.fill(row, entry));
    byId("history-empty").hidden = entries.length > 0;
  }

  row() {
    const parts = {
      seq: el("span", { class: "seq" }),
      at: el("time", { class: "at" }),
      source: el("span", { class: "source" }),
      role: el("span", { class: "role" }),
      op: el("span", { class: "op" }),
      undone: el("span", { class: "undone" }),
      layers: el("span", { class: "layers-touched" }),
    };
    const row = el("li", {}, ...Object.values(parts));
    row.parts = parts;
    return row;
  }

  fill(row, entry) {
    const { parts } = row;
    parts.seq.textContent = `#${entry.seq}`;
    parts.at.textContent = timeOfDay(entry.at);
    parts.at.dateTime = new Date(entry.at).toISOString();
    parts.source.textContent = entry.source;
    row.dataset.source = entry.source;
    parts.role.textContent = entry.role;
    parts.op.textContent = entry.op;
    parts.undone.textContent = entry.undone ? "undone" : "";
    row.classList.toggle("is-undone", Boolean(entry.undone));
    parts.layers.textContent = touched(entry);
    parts.layers.title = (entry.ids ?? []).join(" ");
  }
}
