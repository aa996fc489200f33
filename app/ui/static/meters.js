// The audio meters: one bar for the program, one for the bed and one per sounding layer, drawn
// from the preview's `audioLevels` messages (about ten a second). A layer's and the bed's bar
// shows its peak, with its RMS inside it; the program's shows its true peak, with its
// short-term loudness inside it and a mark at the loudness target. Each bar is green, amber or
// red by its peak; with no message for NO_SIGNAL_MS the meters grey out and say "no signal".
import { byId, el, syncList } from "./dom.js";

// The bars span FLOOR_DB (empty) to 0 dBFS (full); the API floors silence at -120.
export const FLOOR_DB = -60;
const SILENCE_DB = -120;
// A peak above -18 dBFS (the EBU alignment level) is amber, above -6 dBFS red: where a digital
// peak meter changes colour, and the headroom a mix wants before the limiter works hard.
export const AMBER_DB = -18;
export const RED_DB = -6;
export const NO_SIGNAL_MS = 2000;
const CHECK_MS = 250;

// "green", "amber" or "red" for a peak in dBFS.
export function zone(peakDb) {
  if (peakDb > RED_DB) return "red";
  if (peakDb >= AMBER_DB) return "amber";
  return "green";
}

// Where on the bar a level sits, in percent of its width.
export function fraction(db) {
  if (db === null || db === undefined || !Number.isFinite(db)) return 0;
  return Math.min(100, Math.max(0, (100 * (db - FLOOR_DB)) / -FLOOR_DB));
}

const decibels = (db, unit) => (db <= SILENCE_DB ? `-∞ ${unit}` : `${db.toFixed(1)} ${unit}`);
const lufs = (value) => (value === null || value === undefined ? "—" : value.toFixed(1));
const signed = (db) => `${db > 0 ? "+" : ""}${db.toFixed(1)} dB`;

// One meter's nodes: its name, its track (the outer bar is the peak, the inner one RMS or
// loudness) and its figures.
function meterNode(label, program) {
  const parts = {
    name: el("span", { class: "meter-name", text: label }),
    peak: el("span", { class: "meter-peak" }),
    level: el("span", { class: "meter-level" }),
    target: program ? el("span", { class: "meter-target", "aria-hidden": "true" }) : null,
    text: el("output", { class: "meter-text", "aria-live": "off" }),
    figures: program ? el("dl", { class: "loudness" }) : null,
  };
  parts.track = el("div", { class: "meter-track", role: "meter", "aria-valuemin": FLOOR_DB,
    "aria-valuemax": 0 }, parts.peak, parts.level, parts.target);
  const node = el("li", { class: "meter" }, parts.name, parts.track, parts.text, parts.figures);
  node.parts = parts;
  return node;
}

function setBar(bar, db) {
  bar.style.width = `${fraction(db)}%`;
}

function fillMeter(node, { label, peakDb, levelDb, text }) {
  const { parts } = node;
  parts.name.textContent = label;
  node.dataset.zone = zone(peakDb);
  setBar(parts.peak, peakDb);
  setBar(parts.level, levelDb);
  parts.track.setAttribute("aria-label", `Peak: ${label}`);
  parts.track.setAttribute("aria-valuenow", Math.max(FLOOR_DB, Math.min(0, peakDb)).toFixed(1));
  parts.track.setAttribute("aria-valuetext", text);
  parts.text.textContent = text;
}

// The program's figures: momentary, short-term and integrated loudness, true peak, and the
// normaliser's gain.
function fillProgram(node, program) {
  const figures = [
    ["Momentary", `${lufs(program.momentaryLufs)} LUFS`],
    ["Short-term", `${lufs(program.shortTermLufs)} LUFS`],
    ["Integrated", `${lufs(program.integratedLufs)} LUFS`],
    ["True peak", decibels(program.truePeakDb, "dBTP")],
    ["Normaliser gain", signed(program.gainDb)],
  ];
  node.parts.figures.replaceChildren(...figures.flatMap(([term, value]) => [
    el("dt", { text: term }), el("dd", { text: value, "data-figure": term })]));
}

export class Meters {
  constructor() {
    this.list = byId("audio-meters");
    this.state = byId("meters-state");
    this.names = new Map(); // layer id → its name, top of the stack first
    this.targetLufs = null;
    this.levels = null;
    this.receivedAt = 0;
    this.silent = true;
    this.render();
    setInterval(() => this.check(), CHECK_MS);
  }

  // The layers as the Layers panel last read them: their names label the bars, in stack order.
  setLayers(layers) {
    this.names = new Map([...layers].reverse().map((layer) => [layer.id, layer.name || layer.id]));
    this.render();
  }

  // The loudness target, marked on the program's bar.
  setTarget(targetLufs) {
    this.targetLufs = targetLufs;
    const mark = this.list.querySelector(".meter-target");
    if (mark) mark.style.left = `${fraction(targetLufs)}%`;
  }

  // One `audioLevels` payload.
  show(levels) {
    this.levels = levels;
    this.receivedAt = Date.now();
    this.silent = false;
    this.render();
  }

  // No message for NO_SIGNAL_MS: the levels shown are stale, so they go.
  check() {
    if (this.silent || Date.now() - this.receivedAt <= NO_SIGNAL_MS) return;
    this.silent = true;
    this.render();
  }

  // The layers with sound, in stack order; ids the layer list does not know yet last.
  layerIds() {
    const sounding = Object.keys(this.levels?.layers ?? {});
    const known = [...this.names.keys()].filter((id) => sounding.includes(id));
    return [...known, ...sounding.filter((id) => !this.names.has(id)).sort()];
  }

  render() {
    const live = !this.silent && this.levels;
    this.list.dataset.signal = live ? "live" : "none";
    this.state.textContent = live ? "" : "no signal";
    const items = ["program", "bed", ...(live ? this.layerIds().map((id) => `layer:${id}`) : [])];
    syncList(this.list, items, (key) => key,
      (key) => meterNode(key === "program" ? "Program" : key === "bed" ? "Bed" : "", key === "program"),
      (node, key) => this.fill(node, key, live));
    this.setTarget(this.targetLufs);
  }

  fill(node, key, live) {
    const label = key === "program" ? "Program" : key === "bed" ? "Bed"
      : this.names.get(key.slice("layer:".length)) ?? key.slice("layer:".length);
    if (!live) {
      fillMeter(node, { label, peakDb: SILENCE_DB, levelDb: SILENCE_DB, text: "no signal" });
      node.dataset.zone = "none";
      if (node.parts.figures) node.parts.figures.replaceChildren();
      return;
    }
    if (key === "program") {
      const program = this.levels.program;
      fillMeter(node, { label, peakDb: program.truePeakDb, levelDb: program.shortTermLufs,
        text: `${decibels(program.truePeakDb, "dBTP")} true peak · ${lufs(program.shortTermLufs)} LUFS short-term` });
      fillProgram(node, program);
      return;
    }
    const level = key === "bed" ? this.levels.bed : this.levels.layers[key.slice("layer:".length)];
    const peakDb = level?.peakDb ?? SILENCE_DB;
    const rmsDb = level?.rmsDb ?? SILENCE_DB;
    fillMeter(node, { label, peakDb, levelDb: rmsDb,
      text: peakDb <= SILENCE_DB ? "silent" : `${decibels(peakDb, "dB")} peak · ${decibels(rmsDb, "dB")} RMS` });
  }
}
