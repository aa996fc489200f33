// Cues: the upcoming ones (GET /stream/cues, scheduled, soonest first) with a countdown to
// their next time, what they do and how their last run went; the others (done, missed, failed,
// cancelled) folded away below. Cancel (and Remove, for the others, which count against
// MAX_CUES until removed) is DELETE /stream/cues/<id>. The form adds a cue that
// brings back the layers as they are now (a batch updating each to its present values), takes
// a scene, or starts, stops, pauses or resumes the stream: in some seconds, at a local time, or
// on a cron expression in a time zone. Read at load, after each change made here, every few
// seconds, after every layerUpdate (a cue that ran changed layers) and when a countdown ends.
import { byId, clearFieldErrors, el, errorText, showFormError, showMessage, syncList } from "./dom.js";
import { duration, timeOfDay } from "./format.js";
import { tweenFrom } from "./transition.js";

const REFRESH_MS = 5000;
const TICK_MS = 250;
// A cue is read again this long after its countdown ends (it has run by then).
const AFTER_DUE_MS = 1000;
const PAST_SHOWN = 10;
// What the batch of a "layers as they are now" cue sets on each layer.
const LAYER_FIELDS = ["name", "visible", "opacity", "zIndex", "transform", "content"];
const SCENE_PREFIX = "scene:";

const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

// "14:03:22" today, with the date on another day.
function instant(ms) {
  const at = new Date(ms);
  const today = at.toDateString() === new Date().toDateString();
  return today ? timeOfDay(ms) : `${at.toLocaleDateString()} ${timeOfDay(ms)}`;
}

// " (fade 1000 ms)", " (500 ms easeInOut)", or nothing for a cut.
function transitionText(transition) {
  if (!transition?.durationMs) return "";
  return transition.type ? ` (${transition.type} ${transition.durationMs} ms)`
    : ` (${transition.durationMs} ms ${transition.easing ?? "linear"})`;
}

// What a cue does, in words; sceneName(id) names a scene.
export function actionText(action, sceneName) {
  if (action.kind === "batch") {
    return `set ${plural(action.operations.length, "layer")}${transitionText(action.transition)}`;
  }
  if (action.kind === "take") {
    return `take “${sceneName(action.sceneId)}”${transitionText(action.transition)}`;
  }
  return `${action.kind} the stream`;
}

function lastRunText(run) {
  if (!run) return "";
  const why = run.error ? `: ${run.error}` : "";
  return `last run ${instant(run.ranAt ?? run.dueAt)} ${run.result}${why}`;
}

// The batch that sets every layer back to what `layers` (a read) shows.
export function restoring(layers) {
  return layers.map((layer) => ({
    op: "update", id: layer.id,
    changes: Object.fromEntries(LAYER_FIELDS.map((field) => [field, layer[field]])),
  }));
}

export class CuesPanel {
  // layersNow() gives the layers as last read.
  constructor(api, layersNow) {
    this.api = api;
    this.layersNow = layersNow;
    this.cues = [];
    this.sceneNames = new Map();
    this.reads = 0; // a read answered after a newer one was sent is dropped
    this.rereadFor = null; // the nextAt a read has been asked for once its countdown ended
    this.list = byId("cue-list");
    this.past = byId("cue-past");
    this.note = byId("cues-error");
    this.form = byId("cue-form");
    const controls = this.form.elements;
    controls["cue-timezone"].value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    controls["cue-action"].addEventListener("change", () => this.showFields());
    controls["cue-when"].addEventListener("change", () => this.showFields());
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.add(); });
    this.showFields();
    setInterval(() => this.refresh(), REFRESH_MS);
    setInterval(() => this.tick(), TICK_MS);
  }

  // The scenes a cue may take, in the action picker (the chosen one stays chosen).
  setScenes(scenes) {
    this.sceneNames = new Map(scenes.map((scene) => [scene.id, scene.name]));
    const picker = this.form.elements["cue-action"];
    const chosen = picker.value;
    byId("cue-scenes").replaceChildren(...scenes.map((scene) =>
      el("option", { value: `${SCENE_PREFIX}${scene.id}`, text: `Take “${scene.name}”` })));
    picker.value = [...picker.options].some((option) => option.value === chosen) ? chosen : "layers";
    this.showFields();
    this.render();
  }

  // Only the fields that mean something for the chosen action and time.
  showFields() {
    const controls = this.form.elements;
    const action = controls["cue-action"].value;
    const kind = action.startsWith(SCENE_PREFIX) ? "scene" : action === "layers" ? "layers" : "stream";
    for (const field of this.form.querySelectorAll("[data-for]")) {
      field.hidden = !field.dataset.for.split(" ").includes(kind);
    }
    for (const field of this.form.querySelectorAll("[data-when]")) {
      field.hidden = field.dataset.when !== controls["cue-when"].value;
    }
  }

  async refresh() {
    const read = ++this.reads;
    let cues;
    try {
      cues = (await this.api.get("/stream/cues")).body;
    } catch (error) {
      if (read === this.reads) showMessage(this.note, `Cues unavailable: ${error.message}`);
      return;
    }
    if (read !== this.reads) return;
    this.cues = cues;
    this.render();
  }

  render() {
    const upcoming = this.cues.filter((cue) => cue.state === "scheduled");
    const others = this.cues.filter((cue) => cue.state !== "scheduled").slice(0, PAST_SHOWN);
    const build = () => this.row();
    const fill = (row, cue) => this.fill(row, cue);
    syncList(this.list, upcoming, (cue) => cue.id, build, fill);
    syncList(this.past, others, (cue) => cue.id, build, fill);
    byId("cues-empty").hidden = upcoming.length > 0;
    byId("cues-past-count").textContent = `(${others.length})`;
    this.tick();
  }

  row() {
    const parts = {
      name: el("span", { class: "name" }),
      state: el("span", { class: "cue-state" }),
      countdown: el("span", { class: "countdown", "aria-live": "off" }),
      action: el("span", { class: "action" }),
      when: el("span", { class: "when" }),
      lastRun: el("span", { class: "last-run" }),
      remove: el("button", { type: "button" }),
    };
    const row = el("li", {}, ...Object.values(parts));
    parts.remove.addEventListener("click", () => this.remove(row.cue));
    row.parts = parts;
    return row;
  }

  fill(row, cue) {
    const { parts } = row;
    row.cue = cue;
    parts.name.textContent = cue.name;
    parts.state.textContent = cue.state;
    parts.state.dataset.state = cue.state;
    parts.action.textContent = actionText(cue.action, (id) => this.sceneNames.get(id) ?? id);
    parts.when.textContent = cue.cron ? `cron ${cue.cron} (${cue.timezone})` : `at ${instant(cue.at)}`;
    parts.lastRun.textContent = lastRunText(cue.lastRun);
    parts.lastRun.dataset.result = cue.lastRun?.result ?? "";
    const verb = cue.state === "scheduled" ? "Cancel" : "Remove";
    parts.remove.textContent = verb;
    parts.remove.setAttribute("aria-label", `${verb} cue ${cue.name}`);
  }

  // The countdowns move; a cue whose countdown ended is read again once it has run.
  tick() {
    const now = Date.now();
    for (const row of this.list.children) {
      const { nextAt } = row.cue;
      const left = nextAt === null ? null : nextAt - now;
      row.parts.countdown.textContent = left === null ? ""
        : left > 0 ? `in ${duration(left + 999)}` : "due now";
      if (left !== null && left <= 0 && this.rereadFor !== nextAt) {
        this.rereadFor = nextAt;
        setTimeout(() => this.refresh(), AFTER_DUE_MS);
      }
    }
  }

  // The cue the form describes, as POST /stream/cues takes it.
  body() {
    const controls = this.form.elements;
    const body = { name: controls["cue-name"].value.trim(), action: this.action() };
    const when = controls["cue-when"].value;
    if (when === "in") {
      body.inMs = controls["cue-in"].value === "" ? null : Math.round(Number(controls["cue-in"].value) * 1000);
    } else if (when === "at") {
      const at = new Date(controls["cue-at"].value).getTime(); // read as local time
      body.at = Number.isNaN(at) ? null : at;
    } else {
      body.cron = controls["cue-cron"].value.trim();
      if (controls["cue-timezone"].value.trim()) body.timezone = controls["cue-timezone"].value.trim();
    }
    return body;
  }

  // The picker's value: "layers", "scene:<id>", or a stream action ("stop").
  action() {
    const controls = this.form.elements;
    const chosen = controls["cue-action"].value;
    const tween = tweenFrom(controls["cue-duration"], controls["cue-easing"]);
    if (chosen === "layers") {
      const action = { kind: "batch", operations: restoring(this.layersNow()) };
      return tween ? { ...action, transition: tween } : action;
    }
    if (chosen.startsWith(SCENE_PREFIX)) {
      return { kind: "take", sceneId: chosen.slice(SCENE_PREFIX.length),
        transition: { type: controls["cue-cut"].value, durationMs: tween?.durationMs ?? 0 } };
    }
    return { kind: chosen };
  }

  async add() {
    clearFieldErrors(this.form);
    const summary = this.form.querySelector(".error");
    showMessage(summary, "");
    try {
      await this.api.post("/stream/cues", this.body());
      this.form.elements["cue-name"].value = "";
    } catch (error) {
      showFormError(this.form, summary, error);
      return;
    }
    await this.refresh();
  }

  async remove(cue) {
    showMessage(this.note, "");
    try {
      await this.api.request("DELETE", `/stream/cues/${cue.id}`);
    } catch (error) {
      showMessage(this.note, `${cue.name}: ${errorText(error)}`);
    }
    await this.refresh();
  }
}
