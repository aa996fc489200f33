// Small DOM helpers: build elements, show errors beside fields.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export const byId = (id) => document.getElementById(id);

export function showMessage(node, message) {
  node.textContent = message || "";
  node.hidden = !message;
}

// Puts each message of an API error's `fields` beside the control whose data-field matches;
// returns the messages no control took (to show with the form).
export function showFieldErrors(form, fields = {}) {
  clearFieldErrors(form);
  const left = [];
  for (const [field, message] of Object.entries(fields)) {
    const control = form.querySelector(`[data-field="${CSS.escape(field)}"]`)
      || form.querySelector(`[data-field^="${CSS.escape(field)}."]`);
    if (!control || control.closest("[hidden]")) { left.push(`${field}: ${message}`); continue; }
    const note = el("span", { class: "field-error", id: `error-${control.name}`, text: message });
    control.setAttribute("aria-invalid", "true");
    describe(control, [...described(control), note.id]);
    control.closest(".field").append(note);
  }
  return left;
}

export function clearFieldErrors(form) {
  form.querySelectorAll(".field-error").forEach((note) => note.remove());
  form.querySelectorAll("[aria-invalid]").forEach((control) => {
    control.removeAttribute("aria-invalid");
    describe(control, described(control).filter((id) => !id.startsWith("error-")));
  });
}

// A control's aria-describedby ids; an error note is added to a hint it may have already.
const described = (control) => (control.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);

function describe(control, ids) {
  if (ids.length) control.setAttribute("aria-describedby", ids.join(" "));
  else control.removeAttribute("aria-describedby");
}

// An API error in one line: its message and each field's ("file: not a video").
export function errorText(error) {
  const fields = Object.entries(error.body?.fields || {}).map(([field, why]) => `${field}: ${why}`);
  return [error.message, ...fields].join(" — ");
}

// An API error on a form: field messages beside their fields, the rest in `summary`.
export function showFormError(form, summary, error) {
  const left = showFieldErrors(form, error.body?.fields);
  showMessage(summary, left.length ? `${error.message}: ${left.join("; ")}`
    : error.body?.fields ? "Check the highlighted fields." : error.message);
}

// Keeps one node per item in `list`, in the items' order: `build(item)` makes an item's node
// once (keyed by `keyOf(item)`), `fill(node, item)` brings it up to date. A refresh every poll
// then neither replaces nor moves the control an operator is using.
export function syncList(list, items, keyOf, build, fill) {
  const existing = new Map([...list.children].map((node) => [node.dataset.key, node]));
  const wanted = items.map((item) => {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (!node) {
      node = build(item);
      node.dataset.key = key;
    }
    fill(node, item);
    return node;
  });
  const unchanged = wanted.length === list.children.length
    && wanted.every((node, index) => list.children[index] === node);
  if (!unchanged) list.replaceChildren(...wanted);
}
