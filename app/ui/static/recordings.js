// Recordings: the files record outputs wrote, newest first as the API lists them, each with
// its size, start time and duration, a download link and Delete after a confirmation.
import { byId, el, showMessage, syncList } from "./dom.js";
import { bytes, duration } from "./format.js";

const path = (name) => `/stream/recordings/${name.split("/").map(encodeURIComponent).join("/")}`;

export class RecordingsPanel {
  constructor(api) {
    this.api = api;
    this.list = byId("recording-list");
    this.note = byId("recordings-error");
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.unavailable = false; // the last read failed, and the note says so
    byId("recordings-refresh").addEventListener("click", () => this.refresh());
  }

  async refresh() {
    const read = ++this.reads;
    let recordings;
    try {
      recordings = (await this.api.get("/stream/recordings")).body;
    } catch (error) {
      showMessage(this.note, `Recordings unavailable: ${error.message}`);
      byId("recordings-empty").hidden = true;
      this.unavailable = true;
      return;
    }
    if (this.unavailable) showMessage(this.note, ""); // its own message only: an action's stays
    this.unavailable = false;
    if (read !== this.reads) return;
    syncList(this.list, recordings, (recording) => recording.name,
      (recording) => this.row(recording), (row, recording) => this.fill(row, recording));
    byId("recordings-empty").hidden = recordings.length > 0;
  }

  row(recording) {
    const { name } = recording;
    const parts = { figures: el("span", { class: "figures-line" }) };
    // A link cannot send the API token; with one set, the click fetches the file with it.
    const link = el("a", { href: this.api.scoped(path(name)), download: name, "aria-label": `Download ${name}`,
      text: "Download", onclick: (event) => this.download(event, name) });
    const remove = el("button", { type: "button", "aria-label": `Delete recording ${name}`,
      text: "Delete", onclick: () => this.remove(name) });
    const row = el("li", {}, el("span", { class: "name", text: name }), parts.figures, link,
      remove);
    row.parts = parts;
    return row;
  }

  fill(row, recording) {
    const started = new Date(recording.startedAt).toLocaleString();
    // No duration yet: a file just opened has nothing readable in it.
    const length = recording.durationSeconds === null ? "just started"
      : duration(recording.durationSeconds * 1000);
    row.parts.figures.textContent = `${bytes(recording.bytes)} · started ${started} · ${length}`;
  }

  async download(event, name) {
    if (!this.api.token) return; // the link does it
    event.preventDefault();
    try {
      await this.api.save(path(name), name);
      showMessage(this.note, "");
    } catch (error) {
      showMessage(this.note, `${name}: ${error.message}`);
    }
  }

  async remove(name) {
    if (!window.confirm(`Delete the recording “${name}”? The file is removed for good.`)) return;
    try {
      await this.api.request("DELETE", path(name));
      showMessage(this.note, "");
    } catch (error) {
      showMessage(this.note, `${name}: ${error.message}`);
    }
    await this.refresh();
  }
}
