// The live preview: frames from the preview WebSocket drawn on a canvas, with the measured
// fps and latency (each JPEG carries the time the render worker produced it, in a comment
// segment "SMPV1 <epoch ms> <sequence>"). It reconnects by itself, with a fresh ticket.
import { byId } from "./dom.js";

const STAMP = /^SMPV1 (\d+\.\d{3}) (\d+)$/;
const MAX_RECONNECT_MS = 10000;

// The production time (epoch ms) a frame carries, or null.
export function readStamp(bytes) {
  let offset = 2;
  for (let segment = 0; segment < 8 && offset + 4 <= bytes.length; segment += 1) {
    if (bytes[offset] !== 0xff || bytes[offset + 1] === 0xda) break;
    const length = (bytes[offset + 2] << 8) | bytes[offset + 3];
    if (bytes[offset + 1] === 0xfe) {
      const text = String.fromCharCode(...bytes.subarray(offset + 4, offset + 2 + length));
      const found = STAMP.exec(text);
      if (found) return Number(found[1]);
    }
    offset += 2 + length;
  }
  return null;
}

export class Preview {
  constructor(api, config, { onStreamState, onLayerUpdate, onAudioLevels = () => {} }) {
    this.api = api;
    this.config = config;
    this.onStreamState = onStreamState;
    this.onLayerUpdate = onLayerUpdate;
    this.onAudioLevels = onAudioLevels;
    this.canvas = byId("preview-canvas");
    this.context = this.canvas.getContext("2d");
    this.stats = byId("preview-stats");
    this.quality = byId("preview-quality");
    this.quality.addEventListener("change", () => this.send({ type: "quality", quality: this.quality.value }));
    this.socket = null;
    this.retryMs = 500;
    this.arrivals = [];
    this.latencyMs = null;
    this.decoding = false;
    this.waiting = null; // the newest frame that came while one was being decoded
    setInterval(() => this.showStats(), 1000);
  }

  async connect() {
    let ticket = "";
    try {
      ticket = (await this.api.post("/preview/ticket")).body.ticket;
    } catch (error) {
      this.retryLater(`no preview ticket (${error.message})`);
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ quality: this.quality.value, ticket });
    const socket = new WebSocket(`${scheme}://${location.hostname}:${this.config.wsPort}/preview?${query}`);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => {
      if (this.socket === socket) this.retryLater(`preview closed (${event.code})`);
    };
    this.socket = socket;
  }

  retryLater(reason) {
    this.socket = null;
    this.stats.value = `${reason}; reconnecting…`;
    setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RECONNECT_MS);
  }

  send(message) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  receive(data) {
    if (typeof data !== "string") {
      this.frame(new Uint8Array(data));
      return;
    }
    const message = JSON.parse(data);
    if (message.type === "hello") {
      this.retryMs = 500;
      this.onLayerUpdate(null); // changes made while disconnected were not heard: re-read
      this.canvas.width = message.payload.width;
      this.canvas.height = message.payload.height;
      this.quality.value = message.payload.quality;
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    } else if (message.type === "streamState") {
      this.onStreamState(message.payload);
    } else if (message.type === "layerUpdate") {
      this.onLayerUpdate(message.payload);
    } else if (message.type === "audioLevels") {
      this.onAudioLevels(message.payload);
    }
  }

  frame(bytes) {
    const now = Date.now();
    this.arrivals.push(now);
    const producedAt = readStamp(bytes);
    if (producedAt !== null) this.latencyMs = now - producedAt;
    if (this.decoding) {
      this.waiting = bytes; // latest wins here too
      return;
    }
    this.draw(bytes);
  }

  async draw(bytes) {
    this.decoding = true;
    try {
      const picture = await createImageBitmap(new Blob([bytes], { type: "image/jpeg" }));
      this.context.drawImage(picture, 0, 0, this.canvas.width, this.canvas.height);
      picture.close();
    } catch {
      // A frame that does not decode is skipped; the next one replaces it.
    }
    this.decoding = false;
    if (this.waiting) {
      const next = this.waiting;
      this.waiting = null;
      this.draw(next);
    }
  }

  showStats() {
    const cutoff = Date.now() - 1000;
    this.arrivals = this.arrivals.filter((at) => at >= cutoff);
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return;
    const latency = this.latencyMs === null ? "—" : `${Math.max(0, Math.round(this.latencyMs))} ms`;
    this.stats.value = `${this.arrivals.length} fps · latency ${latency}`;
  }
}
