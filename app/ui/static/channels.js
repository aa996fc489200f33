// Channels: the switcher in the header, and the overview, one card per channel with a live
// thumbnail (thumbnails.js), its state (live, paused, stopped; unplaced with the reason), the
// render node holding it, its fps and its outputs' states; Open (the page on that channel),
// Start, Stop, Rename and Delete (disabled with the reason while the channel is not stopped),
// and the form that adds a channel. `GET /channels` is read every REFRESH_MS and after each
// change made here.
import { DEFAULT_CHANNEL, channelAddress, switchChannel } from "./channel.js";
import {
  byId, clearFieldErrors, el, errorText, showFormError, showMessage, syncList,
} from "./dom.js";
import { bitrate } from "./format.js";
import { InlineRename } from "./rename.js";
import { Thumbnails } from "./thumbnails.js";

export const REFRESH_MS = 2000;

const STATES = { live: "● live", paused: "❚❚ paused", stopped: "■ stopped" };

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

// "2 outputs: 1 live, 1 failed" (states in the order first seen), "no outputs".
export function outputsSummary(outputs) {
  if (!outputs.length) return "no outputs";
  const counts = new Map();
  for (const output of outputs) counts.set(output.state, (counts.get(output.state) || 0) + 1);
  const states = [...counts].map(([state, count]) => `${count} ${state}`).join(", ");
  return `${plural(outputs.length, "output")}: ${states}`;
}

// Why a channel cannot be deleted now, or null.
function keptBecause(channel) {
  if (channel.id === DEFAULT_CHANNEL) return "The default channel cannot be deleted.";
  if (channel.state !== "stopped") return `Stop it to delete it (it is ${channel.state}).`;
  return null;
}

export class ChannelsPanel {
  // The page's channel is `api.channel`; `config` gives the preview's port and the
  // deployment's output settings (the form's placeholders).
  constructor(api, config) {
    this.api = api;
    this.channel = api.channel;
    this.channels = [];
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.unavailable = false; // the last read failed, and the note says so
    this.list = byId("channel-list");
    this.note = byId("channels-error");
    this.switcher = byId("channel-select");
    this.switcher.append(el("option", { value: this.channel, text: this.channel }));
    this.switcher.addEventListener("change", () => switchChannel(this.switcher.value));
    this.thumbnails = new Thumbnails(api, config);
    this.form = byId("channel-form");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.add(); });
    const defaults = { "channel-width": config.outputWidth, "channel-height": config.outputHeight,
      "channel-fps": config.targetFps, "channel-bitrate": config.videoBitrate };
    for (const [name, value] of Object.entries(defaults)) this.form.elements[name].placeholder = value;
    byId("channel-missing-default").href = channelAddress(DEFAULT_CHANNEL);
  }

  async refresh() {
    const read = ++this.reads;
    let channels;
    try {
      channels = (await this.api.get("/channels")).body;
    } catch (error) {
      if (read === this.reads) showMessage(this.note, `Channels unavailable: ${error.message}`);
      this.unavailable = true;
      return;
    }
    if (read !== this.reads) return;
    if (this.unavailable) showMessage(this.note, "");
    this.unavailable = false;
    this.channels = channels;
    this.fillSwitcher(channels);
    syncList(this.list, channels, (channel) => channel.id, (channel) => this.card(channel),
      (card, channel) => this.fill(card, channel));
    this.thumbnails.keep(channels.map((channel) => channel.id));
    const live = channels.filter((channel) => channel.state !== "stopped").length;
    byId("channels-summary").textContent = `(${plural(channels.length, "channel")}, ${live} on air)`;
  }

  // The switcher lists every channel; the page's own stays chosen (a channel that is gone is
  // listed as such, and the banner says so).
  fillSwitcher(channels) {
    const known = channels.some((channel) => channel.id === this.channel);
    const options = channels.map((channel) => [channel.id, channel.name]);
    if (!known) options.push([this.channel, `${this.channel} (no such channel)`]);
    const wanted = JSON.stringify(options);
    if (this.switcher.dataset.options !== wanted) {
      this.switcher.replaceChildren(...options.map(([id, name]) =>
        el("option", { value: id, text: name })));
      this.switcher.dataset.options = wanted;
    }
    this.switcher.value = this.channel;
    byId("channel-missing-text").textContent = known ? ""
      : `There is no channel “${this.channel}” (was it deleted?).`;
    byId("channel-missing").hidden = known;
  }

  card(channel) {
    const { id } = channel;
    const current = () => this.channels.find((item) => item.id === id);
    const rename = new InlineRename({ id: `channel-rename-${id}`, label: `Name of ${id}`,
      saveText: "Save", saveLabel: `Save the name of ${id}`, cancelLabel: `Cancel renaming ${id}`,
      onSave: (name) => this.rename(rename, current(), name) });
    const whyId = `channel-kept-${id}`;
    const action = (name, text, run) => el("button", { type: "button", class: `${name} operator-only`,
      text, "aria-label": `${text} channel ${id}`, onclick: () => run(current()) });
    const parts = {
      thumb: el("canvas", { class: "thumb", width: 320, height: 180, role: "img",
        "aria-label": `Live preview of channel ${id}` }),
      name: el("span", { class: "name" }),
      state: el("span", { class: "channel-state" }),
      where: el("span", { class: "where" }),
      figures: el("span", { class: "figures-line" }),
      outputs: el("span", { class: "outputs-line" }),
      problem: el("span", { class: "problem", hidden: true }),
      open: id === this.channel
        ? el("span", { class: "here", text: "On this page" })
        : el("a", { class: "open", href: channelAddress(id), text: "Open",
          "aria-label": `Open channel ${id}` }),
      start: action("start", "Start", (found) => this.control(found, "start")),
      stop: action("stop", "Stop", (found) => this.control(found, "stop")),
      rename: action("rename", "Rename", () => rename.open(parts.name.textContent)),
      remove: action("delete", "Delete", (found) => this.remove(found)),
      why: el("small", { class: "kept operator-only", id: whyId }),
      note: el("p", { class: "error", role: "alert", hidden: true }),
    };
    parts.remove.setAttribute("aria-describedby", whyId);
    rename.button = parts.rename;
    const card = el("li", { class: "channel", "aria-current": id === this.channel ? "page" : null },
      parts.thumb,
      el("div", { class: "summary" },
        el("div", { class: "title" }, parts.name, el("small", { class: "channel-id", text: id }),
          parts.state),
        parts.where, parts.figures, parts.outputs, parts.problem),
      el("div", { class: "actions" }, parts.open, parts.start, parts.stop, parts.rename,
        parts.remove, parts.why),
      rename.form, parts.note);
    card.parts = parts;
    this.thumbnails.watch(id, parts.thumb);
    return card;
  }

  fill(card, channel) {
    const { parts } = card;
    const { placement, status, output } = channel;
    card.dataset.state = channel.state;
    card.dataset.placement = placement.state;
    parts.name.textContent = channel.name;
    parts.state.dataset.state = channel.state;
    parts.state.textContent = STATES[channel.state] || channel.state;
    parts.where.dataset.placement = placement.state;
    parts.where.textContent = placement.state === "placed" ? `on node ${placement.node}`
      : `unplaced: ${placement.reason}`;
    parts.figures.textContent = `${status.fps.toFixed(1)} / ${output.fps} fps · `
      + `${output.width}×${output.height} · ${bitrate(output.videoBitrate)}`;
    parts.outputs.textContent = outputsSummary(status.outputs);
    parts.outputs.title = status.outputs.map((item) => `${item.name}: ${item.state}`).join("\n");
    showMessage(parts.problem, status.error ? `Error: ${status.error}` : "");
    parts.start.disabled = channel.state !== "stopped";
    parts.stop.disabled = channel.state === "stopped";
    const kept = keptBecause(channel);
    parts.remove.disabled = kept !== null;
    parts.remove.title = kept || "";
    parts.why.textContent = kept || "";
    parts.why.hidden = kept === null;
  }

  async add() {
    clearFieldErrors(this.form);
    const note = this.form.querySelector(".error");
    showMessage(note, "");
    const fields = this.form.elements;
    const output = {};
    for (const [name, key] of [["channel-width", "width"], ["channel-height", "height"],
      ["channel-fps", "fps"], ["channel-bitrate", "videoBitrate"]]) {
      if (fields[name].value !== "") output[key] = Number(fields[name].value);
    }
    try {
      await this.api.post("/channels", { id: fields["channel-id"].value.trim(),
        name: fields["channel-name"].value.trim(), output });
      this.form.reset();
    } catch (error) {
      showFormError(this.form, note, error);
      return;
    }
    await this.refresh();
  }

  // Start or stop a channel from its card (POST /channels/<id>/stream/<action>).
  async control(channel, action) {
    const { parts } = this.cardOf(channel.id);
    showMessage(parts.note, "");
    try {
      await this.api.post(`/channels/${encodeURIComponent(channel.id)}/stream/${action}`);
    } catch (error) {
      showMessage(parts.note, `${action} failed: ${errorText(error)}`);
    }
    await this.refresh();
  }

  // With the version the card shows (see InlineRename.send).
  async rename(rename, channel, name) {
    await rename.send(this.api, `/channels/${encodeURIComponent(channel.id)}`, channel, name,
      this.cardOf(channel.id).parts.note);
    await this.refresh();
  }

  async remove(channel) {
    if (!window.confirm(`Delete the channel “${channel.name}” (${channel.id}) with its layers, `
      + "outputs, scenes, cues and history? It cannot be undone.")) return;
    const { parts } = this.cardOf(channel.id);
    showMessage(parts.note, "");
    try {
      await this.api.request("DELETE", `/channels/${encodeURIComponent(channel.id)}`);
    } catch (error) {
      showMessage(parts.note, `Delete failed: ${errorText(error)}`);
      return;
    }
    if (channel.id === this.channel) {
      switchChannel(DEFAULT_CHANNEL);
      return;
    }
    await this.refresh();
  }

  cardOf(id) {
    return [...this.list.children].find((card) => card.dataset.key === id);
  }
}
