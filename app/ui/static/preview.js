// The live preview: frames from the preview WebSocket drawn on a canvas, with the measured
// fps and latency (each JPEG carries the time the render worker produced it, in a comment
// segment "SMPV1 <epoch ms> <sequence>"). It reconnects by itself, with a fresh ticket.
// PreviewSocket and FrameCanvas are shared with the channels overview's thumbnails.
import { DEFAULT_CHANNEL } from "./channel.js";
import { byId } from "./dom.js";

const STAMP = /^SMPV1 (\d+\.\d{3}) (\d+)$/;
const FIRST_RETRY_MS = 500;
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

// One connection to the preview of `channel` at `quality` (a property: a reconnect asks for the
// quality it holds then). It takes a single-use ticket for each connect, answers the pings,
// and reconnects by itself (0.5 s doubling to 10 s) until close(). Handlers: onHello(payload),
// onFrame(bytes), onMessage(message) for the other JSON messages, onRetry(reason).
export class PreviewSocket {
  constructor(api, { wsPort, channel = DEFAULT_CHANNEL, quality }, handlers) {
    this.api = api;
    this.wsPort = wsPort;
    this.channel = channel;
    this.quality = quality;
    this.handlers = { onHello() {}, onFrame() {}, onMessage() {}, onRetry() {}, ...handlers };
    this.socket = null;
    this.retryMs = FIRST_RETRY_MS;
    this.retry = null;
    this.closed = true;
  }

  get open() { return this.socket?.readyState === WebSocket.OPEN; }

  async connect() {
    this.closed = false;
    clearTimeout(this.retry);
    let ticket = "";
    try {
      ticket = (await this.api.post("/preview/ticket")).body.ticket;
    } catch (error) {
      this.retryLater(`no preview ticket (${error.message})`);
      return;
    }
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const query = new URLSearchParams({ quality: this.quality, ticket });
    if (this.channel !== DEFAULT_CHANNEL) query.set("channel", this.channel);
    const socket = new WebSocket(`${scheme}://${location.hostname}:${this.wsPort}/preview?${query}`);
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => {
      if (this.socket === socket) this.retryLater(`preview closed (${event.code})`);
    };
    this.socket = socket;
  }

  // Disconnects for good (until the next connect()). A socket still connecting is closed
  // once open: closing it before makes the browser log an error.
  close() {
    this.closed = true;
    clearTimeout(this.retry);
    const socket = this.socket;
    this.socket = null;
    if (!socket) return;
    if (socket.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close();
    else socket.close();
  }

  retryLater(reason) {
    this.socket = null;
    if (this.closed) return;
    this.handlers.onRetry(reason);
    this.retry = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RECONNECT_MS);
  }

  send(message) {
    if (this.open) this.socket.send(JSON.stringify(message));
  }

  receive(data) {
    if (typeof data !== "string") {
      this.handlers.onFrame(new Uint8Array(data));
      return;
    }
    const message = JSON.parse(data);
    if (message.type === "hello") {
      this.retryMs = FIRST_RETRY_MS;
      this.handlers.onHello(message.payload);
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    } else {
      this.handlers.onMessage(message);
    }
  }
}

// A canvas the newest JPEG is drawn on: a frame that comes while one is being decoded waits,
// and a newer one replaces it (latest wins).
export class FrameCanvas {
  constructor(canvas) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.decoding = false;
    this.waiting = null;
  }

  resize(width, height) {
    this.canvas.width = width;
    this.canvas.height = height;
  }

  offer(bytes) {
    if (this.decoding) {
      this.waiting = bytes;
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
}

// The Preview panel: the page's channel at the quality chosen, its fps and latency, and the
// stream state, layer changes and audio levels the preview sends.
export class Preview {
  constructor(api, config, { onStreamState, onLayerUpdate, onAudioLevels = () => {} }) {
    this.onStreamState = onStreamState;
    this.onLayerUpdate = onLayerUpdate;
    this.onAudioLevels = onAudioLevels;
    this.frames = new FrameCanvas(byId("preview-canvas"));
    this.stats = byId("preview-stats");
    this.quality = byId("preview-quality");
    this.preview = new PreviewSocket(api,
      { wsPort: config.wsPort, channel: api.channel, quality: this.quality.value }, {
        onHello: (payload) => this.hello(payload),
        onFrame: (bytes) => this.frame(bytes),
        onMessage: (message) => this.message(message),
        onRetry: (reason) => { this.stats.value = `${reason}; reconnecting…`; },
      });
    this.quality.addEventListener("change", () => {
      this.preview.quality = this.quality.value;
      this.preview.send({ type: "quality", quality: this.quality.value });
    });
    this.arrivals = [];
    this.latencyMs = null;
    setInterval(() => this.showStats(), 1000);
  }

  connect() { return this.preview.connect(); }

  hello(payload) {
    this.onLayerUpdate(null); // changes made while disconnected were not heard: re-read
    this.frames.resize(payload.width, payload.height);
    this.quality.value = payload.quality;
    this.preview.quality = payload.quality;
  }

  message(message) {
    if (message.type === "streamState") {
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
    this.frames.offer(bytes);
  }

  showStats() {
    const cutoff = Date.now() - 1000;
    this.arrivals = this.arrivals.filter((at) => at >= cutoff);
    if (!this.preview.open) return;
    const latency = this.latencyMs === null ? "—" : `${Math.max(0, Math.round(this.latencyMs))} ms`;
    this.stats.value = `${this.arrivals.length} fps · latency ${latency}`;
  }
}
