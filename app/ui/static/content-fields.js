// A layer type's content fields, built from its entry in GET /stream/layer-types (which the
// server generates from its registry of types), so a new type or field needs nothing here.
// Each control is named and keyed `content.<field>`, the key the API's field errors use, so
// they show beside it, and has the id `f-<field>` (`f-content-<field>` where a common field
// of the form, such as `f-width`, has that id already).
import { el } from "./dom.js";

// A name as the page shows it: "fontSize" reads "Font size". The page writes British English.
export function labelFor(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase()
    .replace(/\bcolor\b/g, "colour").replace(/\burl\b/g, "URL");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// A layer's source is labelled with what it picks ("Image", "Video"), which says more than
// "Source"; other media fields keep their names ("Slate").
function fieldLabel(field) {
  return labelFor(field.kind === "media" && field.name === "source" && field.accept
    ? field.accept : field.name);
}

// Fields that mean something only while another field has a given value: hidden otherwise,
// and sent as null. An input's slate is shown only with the "slate" fallback.
const SHOWN_WHEN = { slate: { field: "fallback", value: "slate" } };

function options(values, nullable) {
  const choices = values.map((value) => el("option", { value: String(value), text: String(value) }));
  return nullable ? [el("option", { value: "", text: "—" }), ...choices] : choices;
}

function controlId(name) {
  const holder = document.getElementById(`f-${name}`);
  return holder && !holder.closest(".content-fields") ? `f-content-${name}` : `f-${name}`;
}

// The control for one field, with the constraints the description gives.
function control(field, id, mediaFor) {
  const attributes = {
    id, name: `content.${field.name}`, "data-field": `content.${field.name}`,
    required: field.required, title: field.description || null,
  };
  if (field.choices || field.kind === "media") {
    const values = field.choices ?? mediaFor(field.accept);
    return el("select", attributes, ...options(values, field.nullable));
  }
  switch (field.kind) {
    case "boolean":
      return el("input", { ...attributes, type: "checkbox" });
    case "integer":
    case "number":
      return el("input", { ...attributes, type: "number", min: field.min, max: field.max,
        step: field.kind === "integer" ? 1 : "any" });
    default: // text and color: the API takes a colour as "#rrggbb" or "#rrggbbaa" text
      return el("input", { ...attributes, minlength: field.minLength, maxlength: field.maxLength,
        placeholder: field.description || null });
  }
}

// One `.field` block (label and control) per content field of `type`. `mediaFor(accept)`
// gives the media names a media field may pick from.
export function contentFields(type, mediaFor) {
  return type.fields.map((field) => {
    const id = controlId(field.name);
    return el("div", { class: "field" },
      el("label", { for: id, text: fieldLabel(field) }), control(field, id, mediaFor));
  });
}

// Hides the fields SHOWN_WHEN names while their condition does not hold, following changes;
// called once the form shows its values.
export function followConditions(form, type) {
  for (const field of type.fields) {
    const rule = SHOWN_WHEN[field.name];
    const controlling = rule && form.elements[`content.${rule.field}`];
    if (!controlling) continue;
    const block = form.elements[`content.${field.name}`].closest(".field");
    const update = () => { block.hidden = controlling.value !== rule.value; };
    controlling.addEventListener("change", update);
    update();
  }
}

// Shows `value` in a field's control; a select keeps a value that is not among its options
// (a layer whose image has left the library still shows what it uses).
export function showValue(control, field, value) {
  if (field.kind === "boolean") {
    control.checked = Boolean(value);
    return;
  }
  const text = value === null || value === undefined ? "" : String(value);
  if (control.tagName === "SELECT" && ![...control.options].some((option) => option.value === text)) {
    if (text === "") return; // nothing to show: the first option stays chosen
    control.append(el("option", { value: text, text }));
  }
  control.value = text;
}

// Replaces a select's options with `values`, keeping the chosen one.
export function setOptions(select, field, values) {
  const chosen = select.value;
  select.replaceChildren(...options(values, field.nullable));
  showValue(select, field, chosen);
}

// The value to send for a field: a number for number kinds, a choice as the API listed it;
// undefined leaves the field out (the API keeps the value, or applies its default). A field
// hidden by its condition is null.
export function readValue(control, field) {
  if (control.closest(".field").hidden) return field.nullable ? null : undefined;
  if (field.kind === "boolean") return control.checked;
  if (control.value === "") return field.nullable ? null : undefined;
  if (field.choices) return field.choices.find((choice) => String(choice) === control.value);
  if (field.kind === "integer" || field.kind === "number") return Number(control.value);
  return control.value;
}
