// The admin page: wires the panels to one API client.
import { Api } from "./api.js";
import { ChatPanel } from "./chat.js";
import { byId, showMessage } from "./dom.js";
import { LayersPanel } from "./layers.js";
import { MediaPanel } from "./media.js";
import { Preview } from "./preview.js";
import { createStreamState, renderStatus } from "./status.js";

const config = JSON.parse(byId("config").textContent);
byId("open-warning").hidden = !config.openWithoutToken;

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

const api = new Api({ maxRetries: config.maxRetries, askToken });
let busy = false;
const stream = createStreamState(api, config.pollInterval, (state) => renderStatus(state, busy));
const layers = new LayersPanel(api);
// The library holds images only (GET /media), for media fields that accept "image".
const media = new MediaPanel(api, (names) => layers.setMedia("image", names));
const chat = new ChatPanel(api);

let layersDue = null;
const preview = new Preview(api, config, {
  onStreamState: (status) => {
    stream.state.status = status;
    stream.state.error = null;
    renderStatus(stream.state, busy);
  },
  // Several changes at once (a reorder) refresh the list once.
  onLayerUpdate: () => {
    clearTimeout(layersDue);
    layersDue = setTimeout(() => layers.refresh(), 100);
  },
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
stream.start();
layers.loadTypes();
layers.refresh();
media.refresh();
chat.refresh();
preview.connect();
