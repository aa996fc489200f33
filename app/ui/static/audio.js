// Program audio: the meters, the master volume and mute, loudness normalisation, and the bed
// (its playlist from the library's audio files, its settings and its transport), all through
// GET|PATCH /stream/audio (with If-Match) and POST /stream/audio/bed. Sliders, switches and
// buttons act at once (a slider when it is let go); typed numbers go with Apply. The API's
// messages show beside their fields (`loudness.targetLufs`). Also the volume slider and mute
// button of a video or input layer's row, which change the layer's content.
import {
  byId, clearFieldErrors, el, errorText, showFormError, showMessage, syncList,
} from "./dom.js";
import { clipTime } from "./format.js";
import { Meters } from "./meters.js";

// The layer types with a sound track, whose rows get a volume slider and a mute button.
export const SOUND_TYPES = new Set(["video", "input"]);
const BED_ACTIONS = ["previous", "play", "pause", "next", "restart"];
// The typed fields, sent with their form's Apply: a control's name is its wire path.
const LOUDNESS_FIELDS = ["loudness.targetLufs", "loudness.truePeakDb"];
const BED_FIELDS = ["bed.crossfadeMs", "bed.duckDb"];

const volumeText = (volume) => Number(volume).toFixed(2);

// A volume slider (0-4) that shows its value as it moves and calls onSet(volume) when let go;
// set(volume) shows a read unless the operator is holding it. `field` is its wire path.
export function volumeSlider(onSet, { id = null, field = null } = {}) {
  const slider = el("input", { type: "range", id, name: field, "data-field": field,
    min: 0, max: 4, step: 0.05, value: 1 });
  const shown = el("output", { class: "volume-value", for: id, "aria-live": "off" });
  let held = false;
  slider.addEventListener("input", () => {
    held = true;
    shown.value = volumeText(slider.value);
  });
  slider.addEventListener("change", () => {
    held = false;
    onSet(Number(slider.value));
  });
  function set(volume) {
    if (held) return;
    slider.value = volume;
    shown.value = volumeText(volume);
  }
  return { slider, shown, set };
}

// A layer row's sound: volume slider and mute button; act(content) sends the content change.
export function soundControls(act) {
  let label = "";
  const volume = volumeSlider((value) => act({ volume: value }));
  let muted = false;
  const mute = el("button", { type: "button", class: "mute", "aria-pressed": "false", text: "Mute",
    onclick: () => act({ muted: !muted }) });
  const group = el("div", { class: "sound", role: "group" },
    el("span", { class: "sound-label", text: "Volume" }), volume.slider, volume.shown, mute);

  function fill(layer, name) {
    label = name;
    muted = Boolean(layer.content.muted);
    volume.set(layer.content.volume ?? 1);
    mute.setAttribute("aria-pressed", String(muted));
    mute.setAttribute("aria-label", `Mute ${label}`);
    volume.slider.setAttribute("aria-label", `Volume of ${label}`);
    group.setAttribute("aria-label", `Sound: ${label}`);
    group.dataset.muted = String(muted);
  }

  return { node: group, fill };
}

export class AudioPanel {
  // pollInterval: how often the settings are read again (a change made elsewhere shows).
  constructor(api, pollInterval) {
    this.api = api;
    this.settings = null; // the last read, without levels
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.unavailable = false;
    this.queue = Promise.resolve(); // changes go one after the other, each with the last version
    this.panel = byId("audio-settings");
    this.note = byId("audio-error");
    this.meters = new Meters();
    this.master = this.slider("a-master-volume", "master.volume");
    this.bedVolume = this.slider("a-bed-volume", "bed.volume");
    // Worked out when its turn comes, so two quick clicks mute and unmute.
    byId("a-master-mute").addEventListener("click",
      () => this.change(() => ({ master: { muted: !this.settings?.master.muted } })));
    this.switch("a-loudness-enabled", (on) => ({ loudness: { enabled: on } }));
    this.switch("a-bed-loop", (on) => ({ bed: { loop: on } }));
    this.switch("a-bed-shuffle", (on) => ({ bed: { shuffle: on } }));
    this.form("loudness-form", LOUDNESS_FIELDS);
    this.form("bed-form", BED_FIELDS);
    for (const action of BED_ACTIONS) {
      byId(`bed-${action}`).addEventListener("click", () => this.bed(action));
    }
    byId("bed-add").addEventListener("click", () => {
      const name = byId("bed-add-file").value;
      if (name) this.setPlaylist((list) => [...list, name]);
    });
    this.playlistNode = byId("bed-playlist");
    setInterval(() => this.refresh(), pollInterval);
  }

  playlist() {
    return [...(this.settings?.bed.playlist ?? [])];
  }

  // The volume slider of `field` ("master.volume"), put in the .field block `${id}-field`.
  slider(id, field) {
    const [group, key] = field.split(".");
    const volume = volumeSlider((value) => this.change({ [group]: { [key]: value } }), { id, field });
    const block = byId(`${id}-field`);
    block.append(volume.slider);
    block.after(volume.shown);
    return volume;
  }

  // A switch (checkbox) that sends body(checked) when flipped.
  switch(id, body) {
    byId(id).addEventListener("change", (event) => this.change(body(event.target.checked)));
  }

  // A form of typed numbers: sent together with Apply. A field being typed in is "dirty" and
  // keeps what the operator typed while reads come in.
  form(id, fields) {
    const form = byId(id);
    form.addEventListener("input", (event) => {
      if (fields.includes(event.target.name)) event.target.dataset.dirty = "yes";
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = {};
      for (const path of fields) {
        const [group, key] = path.split(".");
        const value = form.elements[path].value;
        body[group] = { ...body[group], [key]: value === "" ? null : Number(value) };
      }
      if (await this.change(body)) {
        for (const path of fields) delete form.elements[path].dataset.dirty;
        this.fill();
      }
    });
  }

  // The library's audio files, which the playlist picks from.
  setLibrary(names) {
    const select = byId("bed-add-file");
    const chosen = select.value;
    select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    if (names.includes(chosen)) select.value = chosen;
    byId("bed-add").disabled = names.length === 0;
    byId("bed-add-none").hidden = names.length > 0;
  }

  setLayers(layers) {
    this.meters.setLayers(layers);
  }

  // One `audioLevels` message from the preview: the meters, and what the bed plays.
  levels(levels) {
    this.meters.show(levels);
    this.showBed(levels?.bed ?? null);
  }

  async refresh() {
    const read = ++this.reads;
    let body;
    try {
      body = (await this.api.get("/stream/audio")).body;
    } catch (error) {
      showMessage(this.note, `Audio settings unavailable: ${error.message}`);
      this.unavailable = true;
      return;
    }
    if (read !== this.reads) return;
    if (this.unavailable) showMessage(this.note, ""); // its own message only: an action's stays
    this.unavailable = false;
    this.apply(body);
  }

  apply(read) {
    const { levels, ...settings } = read;
    this.settings = settings;
    this.fill();
  }

  // The settings as last read; a slider being held or a number being typed keeps its value.
  fill() {
    const { master, bed, loudness } = this.settings;
    this.master.set(master.volume);
    const mute = byId("a-master-mute");
    mute.setAttribute("aria-pressed", String(master.muted));
    byId("a-master").dataset.muted = String(master.muted);
    byId("a-loudness-enabled").checked = loudness.enabled;
    byId("a-bed-loop").checked = bed.loop;
    byId("a-bed-shuffle").checked = bed.shuffle;
    this.bedVolume.set(bed.volume);
    const forms = [["loudness-form", LOUDNESS_FIELDS], ["bed-form", BED_FIELDS]];
    for (const [id, fields] of forms) {
      for (const path of fields) {
        const control = byId(id).elements[path];
        const [group, key] = path.split(".");
        if (!control.dataset.dirty) control.value = this.settings[group][key];
      }
    }
    this.meters.setTarget(loudness.targetLufs);
    byId("bed-play").disabled = bed.state === "playing";
    byId("bed-pause").disabled = bed.state !== "playing";
    byId("bed-state").textContent = bed.state;
    this.renderPlaylist(bed.playlist);
  }

  renderPlaylist(playlist) {
    const items = playlist.map((name, index) => ({ name, index }));
    syncList(this.playlistNode, items, (item) => `${item.index}:${item.name}`,
      (item) => this.playlistRow(item), (row, item) => this.fillPlaylistRow(row, item, items.length));
    byId("bed-empty").hidden = playlist.length > 0;
  }

  playlistRow({ name, index }) {
    const label = `${name} (${index + 1})`;
    const button = (text, aria, onclick) => el("button", { type: "button", text,
      "aria-label": aria, onclick });
    const row = el("li", {},
      el("span", { class: "track-number", text: `${index + 1}.` }),
      el("span", { class: "name", text: name }),
      button("↑", `Move ${label} up`, () => this.moveTrack(index, -1, "up")),
      button("↓", `Move ${label} down`, () => this.moveTrack(index, +1, "down")),
      button("Remove", `Remove ${label}`,
        () => this.setPlaylist((list) => list.filter((_, at) => at !== index))));
    return row;
  }

  fillPlaylistRow(row, { index }, count) {
    const [up, down] = row.querySelectorAll("button");
    up.disabled = index === 0;
    down.disabled = index === count - 1;
  }

  // Moves a track one place, keeping the keyboard on the same button of the moved track.
  async moveTrack(index, step, direction) {
    const to = index + step;
    const moved = await this.setPlaylist((list) => {
      if (to < 0 || to >= list.length) return null;
      [list[index], list[to]] = [list[to], list[index]];
      return list;
    });
    if (!moved) return;
    const row = this.playlistNode.children[to];
    const button = row?.querySelector(`button[aria-label^="Move"][aria-label$="${direction}"]`);
    if (button && !button.disabled) button.focus();
  }

  // edit(list) gives the new playlist from the one last read (null: no change), when the
  // changes sent before it have been answered.
  setPlaylist(edit) {
    return this.change(() => {
      const playlist = edit(this.playlist());
      return playlist && { bed: { playlist } };
    });
  }

  // What the bed plays, from the levels: "tone.wav (1 of 2) · 0:12.3 / 0:20.0 · playing".
  showBed(bed) {
    const now = byId("bed-now");
    const current = bed?.track ? bed.index : null;
    for (const row of this.playlistNode.children) {
      const at = Number(row.dataset.key.split(":")[0]);
      if (at === current) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
    }
    if (!bed) {
      now.textContent = "Nothing playing";
      now.dataset.state = "";
      return;
    }
    const count = this.settings?.bed.playlist.length;
    const place = bed.track && count ? ` (${bed.index + 1} of ${count})` : "";
    const position = bed.duration
      ? `${clipTime(bed.position ?? 0)} / ${clipTime(bed.duration)}` : clipTime(bed.position ?? 0);
    now.textContent = bed.track ? `${bed.track}${place} · ${position} · ${bed.state}`
      : `Nothing playing · ${bed.state}`;
    now.dataset.state = bed.state ?? "";
  }

  // PATCH /stream/audio with `body` (or what body() gives when its turn comes: null sends
  // nothing), one change at a time; true when it was taken.
  change(body) {
    const turn = this.queue.then(() => {
      const sent = typeof body === "function" ? body() : body;
      return sent ? this.send(sent) : false;
    });
    this.queue = turn;
    return turn;
  }

  // One PATCH with the version last read. A 412 (changed elsewhere meanwhile) shows the
  // settings as they are now; the operator does it again.
  async send(body) {
    clearFieldErrors(this.panel);
    showMessage(this.note, "");
    const version = this.settings?.version;
    const headers = version === undefined ? {} : { "If-Match": `"${version}"` };
    try {
      await this.answered(await this.api.request("PATCH", "/stream/audio", { json: body, headers }));
      return true;
    } catch (error) {
      if (error.status === 412) {
        showMessage(this.note, "The audio settings were changed elsewhere meanwhile; they now "
          + "show as they are. Do it again to apply yours.");
      } else {
        showFormError(this.panel, this.note, error);
      }
      await this.refresh();
      return false;
    }
  }

  // An answer to a change: the new read, which a poll sent before it must not overwrite; a
  // 202 (the worker has not answered yet) is followed by a read.
  answered(answer) {
    if (answer.status !== 200) return this.refresh();
    this.reads += 1;
    this.apply(answer.body);
    return null;
  }

  // POST /stream/audio/bed: play, pause, next, previous or restart (in turn with the changes).
  bed(action) {
    this.queue = this.queue.then(async () => {
      showMessage(this.note, "");
      try {
        await this.answered(await this.api.post("/stream/audio/bed", { action }));
      } catch (error) {
        showMessage(this.note, `Bed ${action} failed: ${errorText(error)}`);
      }
    });
    return this.queue;
  }
}
