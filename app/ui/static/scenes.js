// Scenes: the strip of saved scenes, each taken with the cut, fade or wipe and the duration
// chosen above the strip (POST /stream/scenes/<id>/take), renamed in place or deleted; the
// form saves the layers on air as a new scene. A take's messages show beside the take
// settings, a name's beside the name. Read at load, after each change made here and every
// few seconds (another operator's scenes show).
import {
  byId, clearFieldErrors, el, errorText, showFormError, showMessage, syncList,
} from "./dom.js";
import { InlineRename } from "./rename.js";
import { claimFieldErrors } from "./transition.js";

const REFRESH_MS = 5000;

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

export class ScenesPanel {
  // onScenes(scenes) hears every read (the cue form offers the scenes to take).
  constructor(api, onScenes = () => {}) {
    this.api = api;
    this.onScenes = onScenes;
    this.scenes = [];
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.list = byId("scene-list");
    this.note = byId("scenes-error");
    this.takeSettings = byId("take-settings");
    this.form = byId("scene-form");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  async refresh() {
    const read = ++this.reads;
    let scenes;
    try {
      scenes = (await this.api.get("/stream/scenes")).body;
    } catch (error) {
      if (read === this.reads) showMessage(this.note, `Scenes unavailable: ${error.message}`);
      return;
    }
    if (read !== this.reads) return;
    this.scenes = scenes;
    syncList(this.list, scenes, (scene) => scene.id, (scene) => this.card(scene),
      (card, scene) => this.fill(card, scene));
    byId("scenes-empty").hidden = scenes.length > 0;
    this.onScenes(scenes);
  }

  card(scene) {
    const current = () => this.scenes.find((item) => item.id === scene.id);
    const rename = new InlineRename({ id: `scene-rename-${scene.id}`, label: "New name",
      onSave: (name) => this.rename(rename, current(), name) });
    const parts = {
      name: el("span", { class: "name" }),
      count: el("small", { class: "count" }),
      take: el("button", { type: "button", class: "take", text: "Take",
        onclick: () => this.take(current()) }),
      rename: el("button", { type: "button", text: "Rename",
        onclick: () => rename.open(parts.name.textContent) }),
      remove: el("button", { type: "button", text: "Delete",
        onclick: () => this.remove(current()) }),
    };
    rename.button = parts.rename;
    const card = el("li", {}, parts.name, parts.count, parts.take, parts.rename, parts.remove,
      rename.form);
    card.parts = parts;
    return card;
  }

  fill(card, scene) {
    const { parts } = card;
    const names = scene.layers.map((layer) => layer.name || layer.id);
    parts.name.textContent = scene.name;
    parts.count.textContent = plural(scene.layers.length, "layer");
    parts.count.title = names.join(", ");
    parts.take.setAttribute("aria-label", `Take ${scene.name}`);
    parts.rename.setAttribute("aria-label", `Rename ${scene.name}`);
    parts.remove.setAttribute("aria-label", `Delete scene ${scene.name}`);
  }

  async save() {
    clearFieldErrors(this.form);
    showMessage(this.note, "");
    try {
      await this.api.post("/stream/scenes", { name: this.form.elements["scene-name"].value.trim() });
      this.form.reset();
    } catch (error) {
      showFormError(this.form, this.note, error);
      return;
    }
    await this.refresh();
  }

  // The take's transition as the settings beside the strip say.
  cut() {
    const duration = byId("take-duration").value;
    return { type: byId("take-type").value, durationMs: duration === "" ? 0 : Number(duration) };
  }

  async take(scene) {
    showMessage(this.note, "");
    try {
      await this.api.post(`/stream/scenes/${scene.id}/take`, { transition: this.cut() });
      clearFieldErrors(this.takeSettings);
    } catch (error) {
      showMessage(this.note, `${scene.name}: ${errorText(claimFieldErrors(this.takeSettings, error))}`);
    }
  }

  // With the version the strip shows (see InlineRename.send).
  async rename(rename, scene, name) {
    await rename.send(this.api, `/stream/scenes/${scene.id}`, scene, name, this.note);
    await this.refresh();
  }

  async remove(scene) {
    if (!window.confirm(`Delete the scene “${scene.name}”? The layers on air stay.`)) return;
    showMessage(this.note, "");
    try {
      await this.api.request("DELETE", `/stream/scenes/${scene.id}`);
    } catch (error) {
      showMessage(this.note, `${scene.name}: ${errorText(error)}`);
    }
    await this.refresh();
  }
}
