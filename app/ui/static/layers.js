// Layers: the list in z-order (top first) with visibility, reorder (drag, or up/down), edit
// and delete; the form adds or edits every field a type has, as GET /stream/layer-types
// describes the types. Validation errors from the API show beside their field; a 412 shows
// the layer as it is now and offers to re-apply. A video or input row has a volume slider and
// a mute button (audio.js), which change the layer's content at once. Every change made here
// (edits, visibility, adds, deletes, volume) carries the transition set beside the list
// (transition.js); its messages show beside it.
import { ApiError } from "./api.js";
import { SOUND_TYPES, soundControls } from "./audio.js";
import {
  contentFields, followConditions, labelFor, readValue, setOptions, showValue,
} from "./content-fields.js";
import { byId, clearFieldErrors, el, errorText, showFormError, showMessage, syncList } from "./dom.js";
import { SOURCE_TYPES, sourceParts } from "./sources.js";

const TRANSFORM = ["x", "y", "width", "height", "scale", "rotation"];
// Between two tries at the layer types while the API cannot answer (each try retries too).
const TYPES_RETRY_MS = 2000;
// How often a video's shown position moves between reads.
const TICK_MS = 250;

// A colour sample; its colour is set through the CSSOM, which the page's CSP allows (style
// attributes not).
const swatch = () => el("span", { class: "swatch", "aria-hidden": "true" });

export class LayersPanel {
  // pollInterval: how often the layers are read again while any shows a source; transition:
  // the LayerTransition the changes carry; onLayers(layers) hears every read (the audio
  // meters are labelled with the layers' names).
  constructor(api, pollInterval, transition, onLayers = () => {}) {
    this.api = api;
    this.pollInterval = pollInterval;
    this.transition = transition;
    this.onLayers = onLayers;
    this.layers = [];
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.nextRead = null;
    this.unavailable = false; // the last read failed, and the note says so
    this.editing = null; // the layer being edited, as last read
    this.pending = null; // the PATCH body refused with 412, for re-applying
    this.types = new Map(); // type name → its description, once loaded
    this.media = new Map(); // what a media field accepts ("image") → the names to pick from
    this.form = byId("layer-form");
    this.list = byId("layer-list");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    const type = this.form.elements.type;
    type.addEventListener("change", () => this.showType(type.value));
    byId("layer-cancel").addEventListener("click", () => this.stopEditing());
    byId("conflict-reapply").addEventListener("click", () => this.reapply());
    byId("conflict-discard").addEventListener("click", () => this.discard());
    setInterval(() => this.tick(), TICK_MS);
  }

  // Builds the type select from GET /stream/layer-types; tries until the API answers.
  async loadTypes() {
    const note = byId("layer-form-error");
    for (;;) {
      try {
        const types = (await this.api.get("/stream/layer-types")).body;
        this.types = new Map(types.map((type) => [type.type, type]));
        break;
      } catch (error) {
        showMessage(note, `Layer types unavailable: ${error.message}. Retrying…`);
        await new Promise((resolve) => setTimeout(resolve, TYPES_RETRY_MS));
      }
    }
    showMessage(note, "");
    const select = this.form.elements.type;
    select.replaceChildren(...[...this.types.values()].map((type) =>
      el("option", { value: type.type, text: labelFor(type.type), title: type.description })));
    select.disabled = false;
    if (this.editing) this.edit(this.editing);
    else this.showType(select.value);
  }

  // The content fields of `typeName`, showing `values` (a layer's content) or the defaults.
  showType(typeName, values = null) {
    const type = this.types.get(typeName);
    byId("f-type-about").textContent = type?.description ?? "";
    if (!type) {
      byId("content-fields").replaceChildren();
      return;
    }
    byId("content-fields").replaceChildren(
      ...contentFields(type, (accept) => this.media.get(accept) ?? []));
    for (const field of type.fields) {
      const value = values && field.name in values ? values[field.name] : field.default;
      showValue(this.form.elements[`content.${field.name}`], field, value);
    }
    followConditions(this.form, type);
  }

  // Reads the layers; while any shows a source (a video's playback, an input's state, which
  // change without anyone editing the layer), reads them again every poll interval.
  async refresh() {
    const read = ++this.reads;
    clearTimeout(this.nextRead);
    let layers = null;
    let failure = null;
    try {
      layers = (await this.api.get("/stream/layers")).body;
    } catch (error) {
      failure = error;
    }
    if (read !== this.reads) return; // a newer read was sent meanwhile
    if (failure) {
      showMessage(byId("layers-error"), `Layers unavailable: ${failure.message}`);
    } else {
      if (this.unavailable) showMessage(byId("layers-error"), ""); // an action's message stays
      this.layers = layers;
      this.render();
    }
    this.unavailable = Boolean(failure);
    if (this.layers.some((layer) => SOURCE_TYPES.has(layer.type))) {
      this.nextRead = setTimeout(() => this.refresh(), this.pollInterval);
    }
  }

  // The media library's names for fields that accept `accept`; the form's pickers follow.
  setMedia(accept, names) {
    this.media.set(accept, names);
    for (const field of this.types.get(this.form.elements.type.value)?.fields ?? []) {
      if (field.kind === "media" && !field.choices && field.accept === accept) {
        setOptions(this.form.elements[`content.${field.name}`], field, names);
      }
    }
  }

  // Rows are kept per layer and filled in place, so a read never takes the focus from a
  // control (a video's seek field) or rebuilds a row under the operator's pointer.
  render() {
    const topFirst = [...this.layers].reverse();
    const places = new Map(topFirst.map((layer, index) => [layer.id, index]));
    syncList(this.list, topFirst, (layer) => layer.id, (layer) => this.row(layer),
      (row, layer) => this.fill(row, layer, places.get(layer.id), topFirst.length));
    this.onLayers(this.layers);
  }

  // The positions of the videos shown move between reads.
  tick() {
    for (const row of this.list.children) row.parts.source?.tick();
  }

  row(layer) {
    const row = el("li", { draggable: "true", "data-id": layer.id });
    const current = () => this.layers.find((item) => item.id === layer.id);
    const parts = {
      swatch: layer.type === "color" ? swatch() : null,
      name: el("span", { class: "name" }),
      visible: el("input", { type: "checkbox",
        onchange: (event) => this.setVisible(current(), event.target.checked) }),
      up: el("button", { type: "button", onclick: () => this.move(layer.id, +1), text: "↑" }),
      down: el("button", { type: "button", onclick: () => this.move(layer.id, -1), text: "↓" }),
      edit: el("button", { type: "button", onclick: () => this.edit(current()), text: "Edit" }),
      remove: el("button", { type: "button", onclick: () => this.remove(current()), text: "Delete" }),
      source: sourceParts(layer.type, (body) => this.playback(layer.id, body)),
      sound: SOUND_TYPES.has(layer.type)
        ? soundControls((content) => this.setSound(layer.id, content)) : null,
      problem: el("span", { class: "problem" }),
    };
    row.append(el("span", { class: "grip", "aria-hidden": "true", text: "⠿" }),
      ...[parts.swatch, parts.name].filter(Boolean),
      el("span", { class: "type", text: layer.type }),
      el("label", {}, parts.visible, " Visible"), parts.up, parts.down, parts.edit, parts.remove,
      ...[parts.source?.node, parts.sound?.node, parts.problem].filter(Boolean));
    row.parts = parts;
    row.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", layer.id);
      row.classList.add("dragging");
    });
    row.addEventListener("dragend", () => row.classList.remove("dragging"));
    row.addEventListener("dragover", (event) => { event.preventDefault(); row.classList.add("drop-target"); });
    row.addEventListener("dragleave", () => row.classList.remove("drop-target"));
    row.addEventListener("drop", (event) => {
      event.preventDefault();
      row.classList.remove("drop-target");
      this.dropOnto(event.dataTransfer.getData("text/plain"), layer.id);
    });
    return row;
  }

  fill(row, layer, index, count) {
    const { parts } = row;
    const label = layer.name || layer.id;
    row.setAttribute("aria-label", `${label}, ${layer.type}`);
    if (parts.swatch) parts.swatch.style.background = layer.content.color;
    parts.name.textContent = label;
    parts.visible.checked = layer.visible;
    parts.visible.setAttribute("aria-label", `Visible: ${label}`);
    parts.up.disabled = index === 0;
    parts.up.setAttribute("aria-label", `Move ${label} up`);
    parts.down.disabled = index === count - 1;
    parts.down.setAttribute("aria-label", `Move ${label} down`);
    parts.edit.setAttribute("aria-label", `Edit ${label}`);
    parts.remove.setAttribute("aria-label", `Delete ${label}`);
    parts.source?.fill(layer, label);
    parts.sound?.fill(layer, label);
    showMessage(parts.problem, layer.error || "");
  }

  // Play, pause, restart or seek a video; the answer is the layer, shown at once with the
  // duration the last read gave (the answer has none).
  async playback(id, body) {
    try {
      const layer = (await this.api.post(`/stream/layers/${id}/playback`, body)).body;
      const known = this.layers.find((item) => item.id === id)?.playback?.duration ?? null;
      layer.playback = { ...layer.playback, duration: layer.playback?.duration ?? known };
      this.layers = this.layers.map((item) => (item.id === id ? layer : item));
      showMessage(byId("layers-error"), "");
      this.render();
    } catch (error) {
      showMessage(byId("layers-error"), errorText(error));
    }
  }

  // A volume or mute change from the row, with the version the row shows: if someone changed
  // the layer meanwhile (412), the row shows it as it is now and the operator does it again.
  async setSound(id, content) {
    const layer = this.layers.find((item) => item.id === id);
    if (!layer) return;
    try {
      await this.patch(layer, { content });
      this.transition.clear();
      showMessage(byId("layers-error"), "");
    } catch (error) {
      const label = layer.name || layer.id;
      showMessage(byId("layers-error"), error.status === 412
        ? `“${label}” was changed elsewhere meanwhile; it now shows as it is. Try again.`
        : `${label}: ${errorText(this.transition.claim(error))}`);
    }
    await this.refresh();
  }

  // Bottom-first ids with `id` moved `step` places up (+1) or down (-1) the stack.
  async move(id, step) {
    const ids = this.layers.map((layer) => layer.id);
    const from = ids.indexOf(id);
    const to = from + step;
    if (from < 0 || to < 0 || to >= ids.length) return;
    [ids[from], ids[to]] = [ids[to], ids[from]];
    await this.reorder(ids);
  }

  async dropOnto(draggedId, targetId) {
    if (!draggedId || draggedId === targetId) return;
    const ids = this.layers.map((layer) => layer.id).filter((id) => id !== draggedId);
    ids.splice(ids.indexOf(targetId) + 1, 0, draggedId); // lands just above the target
    await this.reorder(ids);
  }

  async reorder(ids) {
    await this.act(() => this.api.post("/stream/layers/reorder", { ids }));
  }

  async setVisible(layer, visible) {
    await this.act(() => this.api.post(`/stream/layers/${layer.id}/visibility`,
      this.transition.carry({ visible })));
  }

  async remove(layer) {
    if (!window.confirm(`Delete the layer “${layer.name || layer.id}”?`)) return;
    // A delete with a transition fades the layer out before it goes.
    const transition = this.transition.wire();
    await this.act(() => this.api.request("DELETE", `/stream/layers/${layer.id}`,
      transition ? { json: { transition } } : {}));
    if (this.editing?.id === layer.id) this.stopEditing();
  }

  async act(call) {
    try {
      await call();
      this.transition.clear();
      showMessage(byId("layers-error"), "");
    } catch (error) {
      showMessage(byId("layers-error"), errorText(this.transition.claim(error)));
    }
    await this.refresh();
  }

  edit(layer) {
    this.editing = layer;
    const controls = this.form.elements;
    controls.type.value = layer.type;
    controls.type.disabled = true; // a layer's type is fixed once created
    controls.name.value = layer.name || "";
    controls.visible.checked = layer.visible;
    controls.opacity.value = layer.opacity;
    for (const key of TRANSFORM) controls[`transform.${key}`].value = layer.transform[key] ?? "";
    this.showType(layer.type, layer.content);
    byId("layer-form-title").textContent = `Edit “${layer.name || layer.id}”`;
    byId("layer-save").textContent = "Save changes";
    byId("layer-cancel").hidden = false;
    clearFieldErrors(this.form);
    controls.name.focus();
  }

  stopEditing() {
    this.editing = null;
    this.pending = null;
    this.form.elements.type.disabled = this.types.size === 0;
    byId("layer-form-title").textContent = "Add a layer";
    byId("layer-save").textContent = "Add layer";
    byId("layer-cancel").hidden = true;
    byId("conflict").hidden = true;
    clearFieldErrors(this.form);
  }

  // The form as a layer body; empty number fields are null (natural size) or left out.
  body() {
    const controls = this.form.elements;
    const type = controls.type.value;
    const number = (name) => (controls[name].value === "" ? null : Number(controls[name].value));
    const transform = {};
    for (const key of TRANSFORM) {
      const value = number(`transform.${key}`);
      if (value !== null || key === "width" || key === "height") transform[key] = value;
    }
    const content = {};
    for (const field of this.types.get(type)?.fields ?? []) {
      const value = readValue(controls[`content.${field.name}`], field);
      if (value !== undefined) content[field.name] = value;
    }
    const body = { name: controls.name.value, visible: controls.visible.checked, transform, content };
    if (controls.opacity.value !== "") body.opacity = Number(controls.opacity.value);
    if (!this.editing) body.type = type;
    return body;
  }

  async save() {
    clearFieldErrors(this.form);
    showMessage(byId("layer-form-error"), "");
    const body = this.body();
    try {
      if (this.editing) await this.patch(this.editing, body);
      else await this.api.post("/stream/layers", this.transition.carry(body));
      this.transition.clear();
      this.stopEditing();
      await this.refresh();
    } catch (error) {
      this.showError(error, body);
    }
  }

  // `body` is the operator's change, kept without the transition for re-applying after a 412.
  patch(layer, body) {
    return this.api.request("PATCH", `/stream/layers/${layer.id}`,
      { json: this.transition.carry(body), headers: { "If-Match": `"${layer.version}"` } });
  }

  showError(error, body) {
    if (!(error instanceof ApiError)) throw error;
    if (error.status === 412 && error.body.current) {
      this.pending = body;
      this.editing = error.body.current;
      byId("conflict-current").textContent = JSON.stringify(error.body.current, null, 2);
      byId("conflict").hidden = false;
      return;
    }
    showFormError(this.form, byId("layer-form-error"), this.transition.claim(error));
  }

  async reapply() {
    byId("conflict").hidden = true;
    try {
      await this.patch(this.editing, this.pending);
      this.stopEditing();
    } catch (error) {
      this.showError(error, this.pending);
    }
    await this.refresh();
  }

  discard() {
    const current = this.editing;
    byId("conflict").hidden = true;
    this.pending = null;
    this.edit(current);
  }
}
