// The parts of a layer's row that show a source. A video: its state and position (moving
// between reads), Play, Pause, Restart and a seek field. A live input: its state (live,
// connecting, lost since when), what it receives, and its error. Layer reads carry `playback`
// {state, position, since, duration} and `input` {state, width, height, fps, codec, audio,
// lostSince, error}; the page computes the position from the last read instead of asking.
import { el, showMessage } from "./dom.js";
import { clipTime, timeOfDay } from "./format.js";

// Where a video is at `now` (epoch ms): at `since` it was at `position` on its timeline, and
// it advances in real time while playing; past the end it starts again (`loop`) or holds the
// end. Reads give a position within the file, but the answer to an action (and an event)
// gives the stored timeline, which keeps growing over loops, and no duration.
export function playbackPosition(playback, loop, now = Date.now()) {
  const { state, position, since, duration } = playback;
  const at = state === "playing" ? position + Math.max(0, now - since) / 1000 : position;
  if (!duration) return at;
  return loop ? at % duration : Math.min(at, duration);
}

// A video layer's controls; act(body) sends `body` to the layer's playback route.
export function videoControls(act) {
  let shown = null; // the layer as last read
  const state = el("span", { class: "playback-state" });
  // Not a live region: it changes four times a second.
  const position = el("output", { class: "position", "aria-live": "off" });
  const buttons = ["Play", "Pause", "Restart"].map((text) => el("button", {
    type: "button", text, onclick: () => act({ action: text.toLowerCase() }) }));
  const seek = el("input", { type: "number", min: 0, step: "any", inputmode: "decimal",
    placeholder: "seconds" });
  const seekButton = el("button", { type: "submit", text: "Seek" });
  const form = el("form", { class: "seek", novalidate: true, onsubmit: (event) => {
    event.preventDefault();
    if (seek.value !== "") act({ action: "seek", position: Number(seek.value) });
  } }, seek, seekButton);
  const group = el("div", { class: "source", role: "group" }, state, position, ...buttons, form);

  // The position as it moves: called every few hundred ms between reads.
  function tick(now = Date.now()) {
    const playback = shown?.playback;
    if (!playback) {
      position.value = "";
      return;
    }
    const at = clipTime(playbackPosition(playback, shown.content.loop, now));
    position.value = playback.duration ? `${at} / ${clipTime(playback.duration)}` : at;
  }

  function fill(layer, label) {
    shown = layer;
    const playback = layer.playback;
    state.textContent = playback?.state ?? "no playback yet";
    state.dataset.state = playback?.state ?? "";
    const [play, pause] = buttons;
    play.disabled = playback?.state === "playing";
    pause.disabled = playback?.state !== "playing";
    for (const button of buttons) button.setAttribute("aria-label", `${button.textContent} ${label}`);
    group.setAttribute("aria-label", `Playback: ${label}`);
    position.setAttribute("aria-label", `Position of ${label}`);
    seek.setAttribute("aria-label", `Seek ${label} to (seconds)`);
    seekButton.setAttribute("aria-label", `Seek ${label}`);
    if (playback?.duration) seek.max = playback.duration;
    tick();
  }

  return { node: group, fill, tick };
}

// What a live input receives: "1280×720 · 30 fps · h264 · audio".
function received(input) {
  return [
    input.width && input.height ? `${input.width}×${input.height}` : null,
    input.fps ? `${Number(input.fps.toFixed(2))} fps` : null,
    input.codec,
    input.audio ? "audio" : "no audio",
  ].filter(Boolean).join(" · ");
}

// An input layer's state; its error unless the layer's own error says the same.
export function inputStatus() {
  const state = el("span", { class: "input-state" });
  const details = el("span", { class: "input-details" });
  const problem = el("span", { class: "problem" });
  const group = el("div", { class: "source" }, state, details, problem);

  function fill(layer, label) {
    const input = layer.input;
    group.setAttribute("aria-label", `Input: ${label}`);
    state.dataset.state = input?.state ?? "";
    state.textContent = !input ? "no state yet"
      : input.state === "lost" && input.lostSince ? `lost since ${timeOfDay(input.lostSince)}`
        : input.state;
    details.textContent = input?.state === "live" ? received(input) : "";
    showMessage(problem, input?.error && input.error !== layer.error ? input.error : "");
  }

  return { node: group, fill, tick: () => {} };
}

// The layer types whose rows show a source, and change without anyone editing the layer.
export const SOURCE_TYPES = new Set(["video", "input"]);

// The source parts for a layer of `type`, or null for types that have none.
export function sourceParts(type, act) {
  if (type === "video") return videoControls(act);
  if (type === "input") return inputStatus();
  return null;
}
