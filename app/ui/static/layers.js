// Layers: the list in z-order (top first) with visibility, reorder (drag, or up/down), edit
// and delete; the form adds or edits every field a type has. Validation errors from the API
// show beside their field; a 412 shows the layer as it is now and offers to re-apply.
import { ApiError } from "./api.js";
import { byId, clearFieldErrors, el, showFormError, showMessage } from "./dom.js";

const TRANSFORM = ["x", "y", "width", "height", "scale", "rotation"];
const CONTENT = {
  color: ["color"], text: ["text", "fontSize", "color"], image: ["source"],
  clock: ["format", "fontSize", "color"], chat: ["maxMessages", "fontSize", "color"],
};
const NUMBERS = new Set(["fontSize", "maxMessages"]);

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
    this.form = byId("layer-form");
    this.list = byId("layer-list");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    this.form.elements.type.addEventListener("change", () => this.showTypeFields());
    byId("layer-cancel").addEventListener("click", () => this.stopEditing());
    byId("conflict-reapply").addEventListener("click", () => this.reapply());
    byId("conflict-discard").addEventListener("click", () => this.discard());
    this.showTypeFields();
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

  setImages(names) {
    const select = this.form.elements["content.source"];
    const chosen = select.value;
    select.replaceChildren(...names.map((name) => el("option", { value: name, text: name })));
    if (names.includes(chosen)) select.value = chosen;
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

  showTypeFields() {
    const type = this.form.elements.type.value;
    this.form.querySelectorAll("[data-types]").forEach((field) => {
      field.hidden = !field.dataset.types.split(" ").includes(type);
    });
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
    for (const key of CONTENT[layer.type]) {
      const value = layer.content[key];
      if (value !== undefined) controls[`content.${key}`].value = value;
    }
    byId("layer-form-title").textContent = `Edit “${layer.name || layer.id}”`;
    byId("layer-save").textContent = "Save changes";
    byId("layer-cancel").hidden = false;
    this.showTypeFields();
    clearFieldErrors(this.form);
    controls.name.focus();
  }

  stopEditing() {
    this.editing = null;
    this.pending = null;
    this.form.elements.type.disabled = false;
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
    for (const key of CONTENT[type]) {
      const name = `content.${key}`;
      if (controls[name].value === "") continue;
      content[key] = NUMBERS.has(key) ? Number(controls[name].value) : controls[name].value;
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
