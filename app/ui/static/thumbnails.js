// The channels overview's live thumbnails: each card's canvas shows its channel's preview at
// the low quality (320 pixels wide), over one preview WebSocket per thumbnail on screen. A card
// scrolled out of view, or the whole page in a background tab, closes its socket after
// LINGER_MS (a quick scroll past does not reconnect), and opens it again when seen. The render
// encodes the low quality once per channel however many pages watch it.
import { FrameCanvas, PreviewSocket } from "./preview.js";

const QUALITY = "low";
const LINGER_MS = 3000;

export class Thumbnails {
  constructor(api, config) {
    this.api = api;
    this.config = config;
    this.shown = new Map(); // channel id -> { socket, canvas, visible, linger }
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const shown = this.shown.get(entry.target.dataset.channel);
        if (shown?.canvas !== entry.target) continue;
        shown.visible = entry.isIntersecting;
        this.update(shown);
      }
    });
    document.addEventListener("visibilitychange", () => {
      for (const shown of this.shown.values()) this.update(shown);
    });
  }

  // Shows `channel`'s preview on `canvas` whenever the canvas is on screen.
  watch(channel, canvas) {
    this.forget(channel);
    const frames = new FrameCanvas(canvas);
    const socket = new PreviewSocket(this.api,
      { wsPort: this.config.wsPort, channel, quality: QUALITY }, {
        onHello: (payload) => frames.resize(payload.width, payload.height),
        onFrame: (bytes) => frames.offer(bytes),
      });
    canvas.dataset.channel = channel;
    this.shown.set(channel, { socket, canvas, visible: false, linger: null });
    this.observer.observe(canvas);
  }

  // Stops showing `channel` (its card is gone).
  forget(channel) {
    const shown = this.shown.get(channel);
    if (!shown) return;
    clearTimeout(shown.linger);
    shown.socket.close();
    this.observer.unobserve(shown.canvas);
    this.shown.delete(channel);
  }

  // Keeps only the thumbnails of `channels`.
  keep(channels) {
    for (const channel of [...this.shown.keys()]) {
      if (!channels.includes(channel)) this.forget(channel);
    }
  }

  update(shown) {
    const wanted = shown.visible && document.visibilityState === "visible";
    clearTimeout(shown.linger);
    if (wanted && shown.socket.closed) shown.socket.connect();
    else if (!wanted && !shown.socket.closed) {
      shown.linger = setTimeout(() => shown.socket.close(), LINGER_MS);
    }
  }
}
