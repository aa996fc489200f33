// Outputs: RTMP destinations and recordings, added, switched on and off and removed while on
// air. Each row shows the output's live state, measured bit rate and error; the status
// polling (and every streamState from the preview) keeps those current, and the list is read
// again whenever the status names a different set of outputs or a different switch position
// (a change made elsewhere). A stream key goes out once, in the add form, and is never shown:
// the list says "key set" from `hasKey`.
import { byId, clearFieldErrors, el, showFormError, showMessage, syncList } from "./dom.js";
import { bitrate, duration } from "./format.js";

// What the status says of each output; the rest (kind, URL, settings) only the list has.
const LIVE_FIELDS = ["state", "error", "bitrate", "since"];

const label = (output) => output.name || output.id;

function settings(output) {
  if (output.kind === "rtmp") return `${output.url} · ${output.hasKey ? "key set" : "no key"}`;
  const keeps = output.keepSegments === null ? "keeps every file"
    : `keeps ${output.keepSegments} file${output.keepSegments === 1 ? "" : "s"}`;
  return `a file every ${output.segmentSeconds} s · ${keeps}`;
}

export class OutputsPanel {
  // onStates() is called when any output's state changes (a recording may have closed).
  constructor(api, onStates = () => {}) {
    this.api = api;
    this.onStates = onStates;
    this.outputs = [];
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.unavailable = false; // the last read failed, and the note says so
    this.states = "";
    this.list = byId("output-list");
    this.note = byId("outputs-error");
    this.rtmpForm = byId("output-rtmp-form");
    this.recordForm = byId("output-record-form");
    this.rtmpForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(this.rtmpForm, this.rtmpBody());
    });
    this.recordForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.add(this.recordForm, this.recordBody());
    });
    byId("outputs-refresh").addEventListener("click", () => this.refresh());
  }

  async refresh() {
    const read = ++this.reads;
    let outputs;
    try {
      outputs = (await this.api.get("/stream/outputs")).body;
    } catch (error) {
      showMessage(this.note, `Outputs unavailable: ${error.message}`);
      byId("outputs-empty").hidden = true;
      this.unavailable = true;
      return;
    }
    if (this.unavailable) showMessage(this.note, ""); // its own message only: an action's stays
    this.unavailable = false;
    if (read !== this.reads) return;
    this.outputs = outputs;
    this.render();
  }

  // The outputs of a status (from the polling or the preview): their live fields go into
  // the rows; a set of ids or a switch the list does not match means a change made elsewhere.
  follow(statusOutputs) {
    if (!Array.isArray(statusOutputs)) return;
    const known = new Map(this.outputs.map((output) => [output.id, output]));
    const stale = statusOutputs.length !== known.size || statusOutputs.some((live) =>
      !known.has(live.id) || (live.state === "disabled") === known.get(live.id).enabled);
    for (const live of statusOutputs) {
      const output = known.get(live.id);
      if (output) for (const field of LIVE_FIELDS) output[field] = live[field];
    }
    this.render();
    if (stale) this.refresh();
  }

  render() {
    syncList(this.list, this.outputs, (output) => output.id,
      (output) => this.row(output), (row, output) => this.fill(row, output));
    byId("outputs-empty").hidden = this.outputs.length > 0;
    const states = this.outputs.map((output) => `${output.id}:${output.state}`).join(" ");
    if (states !== this.states) {
      this.states = states;
      this.onStates();
    }
  }

  row(output) {
    const parts = {
      name: el("span", { class: "name" }),
      kind: el("span", { class: "kind" }),
      state: el("span", { class: "output-state" }),
      rate: el("span", { class: "rate" }),
      since: el("span", { class: "since" }),
      settings: el("span", { class: "settings" }),
      problem: el("span", { class: "problem" }),
      enabled: el("input", { type: "checkbox", role: "switch",
        onchange: (event) => this.setEnabled(this.current(row), event.target.checked) }),
      remove: el("button", { type: "button", text: "Delete",
        onclick: () => this.remove(this.current(row)) }),
    };
    const row = el("li", {}, parts.name, parts.kind, parts.state, parts.rate, parts.since,
      el("label", { class: "switch" }, parts.enabled, " Enabled"), parts.remove,
      parts.settings, parts.problem);
    row.parts = parts;
    return row;
  }

  // The output a row stands for, as last read (its version for If-Match).
  current(row) {
    return this.outputs.find((output) => output.id === row.dataset.key);
  }

  fill(row, output) {
    const { parts } = row;
    parts.name.textContent = label(output);
    parts.kind.textContent = output.kind === "rtmp" ? "RTMP" : "recording";
    parts.state.textContent = output.state;
    parts.state.dataset.state = output.state;
    parts.rate.textContent = output.bitrate > 0 ? bitrate(output.bitrate) : "";
    parts.since.textContent = output.since && output.state !== "stopped"
      ? `for ${duration(Date.now() - output.since)}` : "";
    parts.settings.textContent = settings(output);
    showMessage(parts.problem, output.error || "");
    parts.enabled.checked = output.enabled;
    parts.enabled.setAttribute("aria-label", `Enabled: ${label(output)}`);
    parts.remove.setAttribute("aria-label", `Delete output ${label(output)}`);
  }

  rtmpBody() {
    const controls = this.rtmpForm.elements;
    const body = { kind: "rtmp", url: controls["rtmp-url"].value.trim() };
    if (controls["rtmp-name"].value.trim()) body.name = controls["rtmp-name"].value.trim();
    if (controls["rtmp-key"].value) body.key = controls["rtmp-key"].value;
    return body;
  }

  // Empty number fields: the default segment length, and every file kept.
  recordBody() {
    const controls = this.recordForm.elements;
    const body = { kind: "record" };
    if (controls["record-name"].value.trim()) body.name = controls["record-name"].value.trim();
    if (controls["record-segment"].value !== "") {
      body.segmentSeconds = Number(controls["record-segment"].value);
    }
    const keep = controls["record-keep"].value;
    body.keepSegments = keep === "" ? null : Number(keep);
    return body;
  }

  async add(form, body) {
    clearFieldErrors(form);
    const summary = form.querySelector(".error");
    showMessage(summary, "");
    try {
      await this.api.post("/stream/outputs", body);
      form.reset(); // the key leaves the page with the form's other values
    } catch (error) {
      showFormError(form, summary, error);
      return;
    }
    await this.refresh();
  }

  // The switch sends the version the row shows: if someone changed the output meanwhile
  // (412), the row shows it as it is now and the operator decides again.
  async setEnabled(output, enabled) {
    await this.act(output, () => this.api.request("PATCH", `/stream/outputs/${output.id}`,
      { json: { enabled }, headers: { "If-Match": `"${output.version}"` } }));
  }

  async remove(output) {
    const warning = output.state === "live" ? " It stops sending at once." : "";
    if (!window.confirm(`Delete the output “${label(output)}”?${warning}`)) return;
    await this.act(output, () => this.api.request("DELETE", `/stream/outputs/${output.id}`));
  }

  async act(output, call) {
    try {
      await call();
      showMessage(this.note, "");
    } catch (error) {
      showMessage(this.note, error.status === 412
        ? `“${label(output)}” was changed elsewhere meanwhile; it now shows as it is. Try again.`
        : `${label(output)}: ${error.message}`);
    }
    await this.refresh();
  }
}
