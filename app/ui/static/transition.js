// Transitions: the duration and easing beside the layer edits, which every change the Layers
// panel sends carries (`{"durationMs", "easing"}`, left out at 0: a cut), and the split of an
// API error's messages between a group of transition fields and the form that was sent.
import { ApiError } from "./api.js";
import { clearFieldErrors, el, showFieldErrors } from "./dom.js";

// The API's choices (core/show/transition.py) as the page names them; the first is the default.
const CHOICES = {
  easing: { linear: "Linear", easeIn: "Ease in", easeOut: "Ease out", easeInOut: "Ease in and out" },
  cut: { cut: "Cut", fade: "Fade", wipe: "Wipe" },
};

// Fills every `<select data-choices="easing|cut">` under `root` with its choices.
export function fillChoices(root) {
  for (const select of root.querySelectorAll("select[data-choices]")) {
    select.replaceChildren(...Object.entries(CHOICES[select.dataset.choices])
      .map(([value, text]) => el("option", { value, text })));
  }
}

// A tween from a duration control and an easing control: null at 0 ms (a cut, sent as
// nothing). An empty or unreadable duration is sent as typed, for the API to name.
export function tweenFrom(duration, easing) {
  const durationMs = duration.value === "" ? 0 : Number(duration.value);
  return durationMs === 0 ? null : { durationMs, easing: easing.value };
}

// `error` with the messages of fields that `group` has a control for (by data-field) taken
// out: those show beside their controls, the rest is for the form that sent the call. An
// error that is not the API's goes on as it is.
export function claimFieldErrors(group, error) {
  clearFieldErrors(group);
  const fields = error instanceof ApiError ? error.body.fields : null;
  if (!fields) return error;
  const mine = {};
  const rest = {};
  for (const [field, message] of Object.entries(fields)) {
    const here = group.querySelector(`[data-field="${CSS.escape(field)}"]`);
    (here ? mine : rest)[field] = message;
  }
  if (!Object.keys(mine).length) return error;
  showFieldErrors(group, mine);
  return new ApiError(error.status, { ...error.body, fields: rest });
}

// The Layers panel's transition: wire() is what its calls carry, or null.
export class LayerTransition {
  constructor(group) {
    this.group = group;
    this.duration = group.querySelector("[name='transition.durationMs']");
    this.easing = group.querySelector("[name='transition.easing']");
  }

  wire() {
    return tweenFrom(this.duration, this.easing);
  }

  // `body` with the transition, when there is one.
  carry(body = {}) {
    const transition = this.wire();
    return transition ? { ...body, transition } : body;
  }

  clear() {
    clearFieldErrors(this.group);
  }

  // An API error with its transition messages shown here and taken out.
  claim(error) {
    return claimFieldErrors(this.group, error);
  }
}
