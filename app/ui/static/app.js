// The admin page: wires the panels to one API client.
import { Api } from "./api.js";
import { AudioPanel } from "./audio.js";
import { DEFAULT_CHANNEL, pageChannel } from "./channel.js";
import { ChannelsPanel, REFRESH_MS as CHANNELS_REFRESH_MS } from "./channels.js";
import { ChatPanel } from "./chat.js";
import { CuesPanel } from "./cues.js";
import { byId, showMessage } from "./dom.js";
import { HistoryPanel } from "./history.js";
import { LayersPanel } from "./layers.js";
import { MediaPanel } from "./media.js";
import { NodesPanel } from "./nodes.js";
import { OutputsPanel } from "./outputs.js";
import { Preview } from "./preview.js";
import { RecordingsPanel } from "./recordings.js";
import { ScenesPanel } from "./scenes.js";
import { createStreamState, renderStatus } from "./status.js";
import { fillChoices, LayerTransition } from "./transition.js";
import { UndoRedo } from "./undo.js";

// Listing the folder is not free: the recordings are read less often than the status.
const RECORDINGS_REFRESH_MS = 5000;

const config = JSON.parse(byId("config").textContent);
byId("open-warning").hidden = !config.openWithoutToken;
fillChoices(document);

// Every call refused with 401 waits for the same question to the operator.
let tokenAsked = null;
function askToken() {
  if (!tokenAsked) {
    const dialog = byId("token-dialog");
    const input = byId("token-input");
    tokenAsked = new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        tokenAsked = null;
        resolve(input.value);
      }, { once: true });
      dialog.showModal();
      input.focus();
    });
  }
  return tokenAsked;
}

// The channel the page works on (?channel=, else default): every /stream call goes to it.
const channel = pageChannel();
if (channel !== DEFAULT_CHANNEL) document.title = `${channel} · Stream Manager`;
const api = new Api({ maxRetries: config.maxRetries, askToken, channel });
// A viewer's token only reads: the page hides what it may not change (.operator-only).
api.get("/ui-session").then(({ body }) => { document.body.dataset.role = body.role; },
  () => {});
let busy = false;
const recordings = new RecordingsPanel(api);
// A state change of any output may have closed or opened a file: the recordings follow.
const outputs = new OutputsPanel(api, () => recordings.refresh());
const historyPanel = new HistoryPanel(api);
const audio = new AudioPanel(api, config.pollInterval);
const layers = new LayersPanel(api, config.pollInterval,
  new LayerTransition(byId("layer-transition")), (read) => audio.setLayers(read));
const cues = new CuesPanel(api, () => layers.layers);
const scenes = new ScenesPanel(api, (list) => cues.setScenes(list));

// A change of layers (one event, or several at once: a reorder, a batch's sub-events, an
// undo) reads the layers, the history and the cues (one may have run) once.
let changesDue = null;
function followChanges() {
  clearTimeout(changesDue);
  changesDue = setTimeout(() => {
    layers.refresh();
    historyPanel.refresh();
    cues.refresh();
  }, 100);
}
new UndoRedo(api, followChanges);

// Every status (polled, or from the preview) also brings each output's state and bit rate;
// a start, stop, pause or resume is in the history (and may be a cue's run).
let streamState = null;
function showStatus(state) {
  renderStatus(state, busy);
  outputs.follow(state.status?.outputs);
  const now = state.status && `${state.status.isLive} ${state.status.isPaused}`;
  if (now && now !== streamState) {
    if (streamState !== null) {
      historyPanel.refresh();
      cues.refresh();
    }
    streamState = now;
  }
}
const stream = createStreamState(api, config.pollInterval, showStatus);
// The library's images, videos and audio, for the media fields that accept each kind (and the
// bed's playlist, which takes audio files).
const media = new MediaPanel(api, (names) => {
  for (const [kind, named] of Object.entries(names)) layers.setMedia(kind, named);
  audio.setLibrary(names.audio);
});
const chat = new ChatPanel(api);
const channels = new ChannelsPanel(api, config);
const nodes = new NodesPanel(api);

const preview = new Preview(api, config, {
  onStreamState: (status) => {
    stream.state.status = status;
    stream.state.error = null;
    showStatus(stream.state);
  },
  onLayerUpdate: followChanges,
  onAudioLevels: (levels) => audio.levels(levels),
});

for (const action of ["start", "stop", "pause", "resume"]) {
  byId(`control-${action}`).addEventListener("click", async () => {
    busy = true;
    renderStatus(stream.state, busy);
    let failure = null;
    try {
      stream.state.status = (await api.post(`/stream/${action}`)).body;
      stream.state.error = null;
    } catch (error) {
      failure = `${action} failed: ${error.message}`;
    }
    busy = false;
    renderStatus(stream.state, busy);
    if (failure) showMessage(byId("status-error"), failure);
  });
}

setInterval(() => chat.refresh(), config.pollInterval);
setInterval(() => {
  channels.refresh();
  nodes.refresh();
}, CHANNELS_REFRESH_MS);
// A recording grows, and starts a new file every segment, without any state changing.
setInterval(() => recordings.refresh(), RECORDINGS_REFRESH_MS);
stream.start();
layers.loadTypes();
layers.refresh();
scenes.refresh();
cues.refresh();
historyPanel.refresh();
audio.refresh();
media.refresh();
chat.refresh();
outputs.refresh();
recordings.refresh();
channels.refresh();
nodes.refresh();
preview.connect();
