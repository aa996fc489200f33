// A name field folded into a card (a scene's, a channel's): Rename opens it holding the name,
// Save sends it, Cancel folds it and gives the focus back to the Rename button.
import { clearFieldErrors, el, showFormError, showMessage } from "./dom.js";

export class InlineRename {
  // `id` names the field; `label` is its label; `saveLabel` and `cancelLabel` the buttons'
  // accessible names when their text ("Save name", "Cancel") is not enough; onSave(name).
  constructor({ id, label, saveText = "Save name", saveLabel = null, cancelLabel = null, onSave }) {
    this.button = null; // the card's Rename button, set by the card
    this.input = el("input", { id, name: id, "data-field": "name", maxlength: 100, required: true });
    this.form = el("form", { class: "rename", hidden: true, novalidate: true },
      el("div", { class: "field" }, el("label", { for: id, text: label }), this.input),
      el("button", { type: "submit", text: saveText, "aria-label": saveLabel }),
      el("button", { type: "button", text: "Cancel", "aria-label": cancelLabel,
        onclick: () => this.close() }));
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      onSave(this.input.value.trim());
    });
  }

  open(name) {
    this.input.value = name;
    this.form.hidden = false;
    this.input.focus();
    this.input.select();
  }

  close() {
    clearFieldErrors(this.form);
    this.form.hidden = true;
    this.button?.focus();
  }

  // PATCH {name} to `path` with If-Match `item.version`: closes on success; if the item was
  // changed elsewhere meanwhile (412) `note` says so (the caller's next read shows it as it
  // is, and the operator renames again); other errors show beside the field or in `note`.
  async send(api, path, item, name, note) {
    showMessage(note, "");
    try {
      await api.request("PATCH", path,
        { json: { name }, headers: { "If-Match": `"${item.version}"` } });
      this.close();
    } catch (error) {
      if (error.status === 412) {
        showMessage(note, `“${item.name}” was changed elsewhere meanwhile; it now shows as it is. Try again.`);
      } else {
        showFormError(this.form, note, error);
      }
    }
  }
}
