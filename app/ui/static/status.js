// The stream state, polled every POLL_INTERVAL (the original design's useStreamState hook):
// { status, isLoading, error }. The API retries each poll up to MAX_RETRIES times; while the
// API cannot be reached the page says so, and the next successful poll clears it.
import { byId, el, showMessage } from "./dom.js";
import { duration } from "./format.js";

export function createStreamState(api, pollInterval, onChange) {
  const state = { status: null, isLoading: true, error: null };
  let timer = null;

  async function poll() {
    clearTimeout(timer);
    try {
      state.status = (await api.get("/stream/status")).body;
      state.error = null;
    } catch (error) {
      state.error = error;
    }
    state.isLoading = false;
    onChange(state);
    timer = setTimeout(poll, pollInterval);
  }

  return { state, refresh: poll, start: poll };
}

// Draws the status panel and enables only the controls that make sense.
export function renderStatus(state, busy) {
  const banner = byId("connection");
  if (!state.error) showMessage(banner, "");
  else if (state.error.status === 0) showMessage(banner, "Cannot reach the Stream Manager API. Retrying…");
  else showMessage(banner, `Stream status unavailable: ${state.error.message}. Retrying…`);
  const status = state.status;
  const label = byId("status-state");
  if (!status) {
    label.textContent = state.isLoading ? "loading…" : "unknown";
    return;
  }
  const name = status.isPaused ? "paused" : status.isLive ? "live" : "stopped";
  label.dataset.state = name;
  label.textContent = { live: "● Live", paused: "❚❚ Paused", stopped: "■ Stopped" }[name];
  const figures = [
    ["FPS", `${status.fps.toFixed(1)} / ${status.targetFPS}`],
    ["Frames", status.frameCount.toLocaleString()],
    ["Dropped", status.droppedFrames.toLocaleString()],
    ["Render time", `${status.averageRenderTime.toFixed(1)} ms`],
    ["Uptime", status.startTime ? duration(Date.now() - status.startTime) : "—"],
  ];
  // Which render node holds the channel, or why none does.
  const placement = status.placement;
  if (placement) {
    figures.push(["Node", placement.state === "placed" ? placement.node
      : `unplaced: ${placement.reason}`]);
  }
  byId("status-figures").replaceChildren(
    ...figures.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", { text: value })]));
  byId("status-outputs").replaceChildren(...(status.outputs || []).map((output) =>
    el("li", { text: `${output.name}: ${output.state}${output.error ? ` (${output.error})` : ""}` })));
  showMessage(byId("status-error"), status.error ? `Error: ${status.error}` : "");
  const enabled = {
    start: !status.isLive, stop: status.isLive, pause: status.isLive && !status.isPaused,
    resume: status.isPaused,
  };
  for (const [action, on] of Object.entries(enabled)) {
    byId(`control-${action}`).disabled = busy || !on;
  }
}
