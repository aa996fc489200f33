// Layers: the list in z-order (top first) with visibility, reorder (drag, or up/down), edit
// and delete; the form adds or edits every field a type has, as GET /stream/layer-types
// describes the types. Validation errors from the API show beside their field; a 412 shows
// the layer as it is now and offers to re-apply.
import { ApiError } from "./api.js";
import { contentFields, labelFor, readValue, setOptions, showValue } from "./content-fields.js";
import { byId, clearFieldErrors, el, showFormError, showMessage } from "./dom.js";

const TRANSFORM = ["x", "y", "width", "height", "scale", "rotation"];
// Between two tries at the layer types while the API cannot answer (each try retries too).
const TYPES_RETRY_MS = 2000;

// A colour sample; set through the CSSOM, which the page's CSP allows (style attributes not).
function swatch(color) {
  const sample = el("span", { class: "swatch", "aria-hidden": "true" });
  sample.style.background = color;
  return sample;
}

export class LayersPanel {
  constructor(api) {
    this.api = api;
    this.layers = [];
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
  }

  async refresh() {
    try {
      this.layers = (await this.api.get("/stream/layers")).body;
      showMessage(byId("layers-error"), "");
    } catch (error) {
      showMessage(byId("layers-error"), `Layers unavailable: ${error.message}`);
      return;
    }
    this.render();
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

  render() {
    const topFirst = [...this.layers].reverse();
    this.list.replaceChildren(...topFirst.map((layer, index) => this.row(layer, index, topFirst.length)));
  }

  row(layer, index, count) {
    const label = layer.name || layer.id;
    const item = el("li", { draggable: "true", "data-id": layer.id, "aria-label": `${label}, ${layer.type}` },
      el("span", { class: "grip", "aria-hidden": "true", text: "⠿" }),
      layer.type === "color" ? swatch(layer.content.color) : null,
      el("span", { class: "name", text: label }),
      el("span", { class: "type", text: layer.type }),
      el("label", {}, el("input", {
        type: "checkbox", checked: layer.visible, "aria-label": `Visible: ${label}`,
        onchange: (event) => this.setVisible(layer, event.target.checked),
      }), " Visible"),
      el("button", { type: "button", disabled: index === 0, "aria-label": `Move ${label} up`,
        onclick: () => this.move(layer.id, +1), text: "↑" }),
      el("button", { type: "button", disabled: index === count - 1, "aria-label": `Move ${label} down`,
        onclick: () => this.move(layer.id, -1), text: "↓" }),
      el("button", { type: "button", "aria-label": `Edit ${label}`, onclick: () => this.edit(layer), text: "Edit" }),
      el("button", { type: "button", "aria-label": `Delete ${label}`, onclick: () => this.remove(layer), text: "Delete" }),
      layer.error ? el("span", { class: "problem", text: layer.error }) : null);
    item.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("text/plain", layer.id);
      item.classList.add("dragging");
    });
    item.addEventListener("dragend", () => item.classList.remove("dragging"));
    item.addEventListener("dragover", (event) => { event.preventDefault(); item.classList.add("drop-target"); });
    item.addEventListener("dragleave", () => item.classList.remove("drop-target"));
    item.addEventListener("drop", (event) => {
      event.preventDefault();
      item.classList.remove("drop-target");
      this.dropOnto(event.dataTransfer.getData("text/plain"), layer.id);
    });
    return item;
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
    await this.act(() => this.api.post(`/stream/layers/${layer.id}/visibility`, { visible }));
  }

  async remove(layer) {
    if (!window.confirm(`Delete the layer “${layer.name || layer.id}”?`)) return;
    await this.act(() => this.api.request("DELETE", `/stream/layers/${layer.id}`));
    if (this.editing?.id === layer.id) this.stopEditing();
  }

  async act(call) {
    try {
      await call();
      showMessage(byId("layers-error"), "");
    } catch (error) {
      showMessage(byId("layers-error"), error.message);
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
      else await this.api.post("/stream/layers", body);
      this.stopEditing();
      await this.refresh();
    } catch (error) {
      this.showError(error, body);
    }
  }

  patch(layer, body) {
    return this.api.request("PATCH", `/stream/layers/${layer.id}`,
      { json: body, headers: { "If-Match": `"${layer.version}"` } });
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
    showFormError(this.form, byId("layer-form-error"), error);
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
