// Media: upload images, videos and audio (POST /media, with a progress bar: a 2 GB file takes
// a while) and list the library, each video with its poster frame; layers pick from it by kind.
import { byId, clearFieldErrors, el, showFormError, showMessage, syncList } from "./dom.js";
import { bytes, clipTime } from "./format.js";

// "1280×720 · 0:10.0 · 30 fps · h264/aac · 4.1 MiB": what the library knows of a file.
function figures(item) {
  const codecs = [item.videoCodec, item.audioCodec].filter(Boolean).join("/");
  return [
    item.width && item.height ? `${item.width}×${item.height}` : null,
    item.duration ? clipTime(item.duration) : null,
    item.fps ? `${Number(item.fps.toFixed(2))} fps` : null,
    codecs || null,
    bytes(item.size),
  ].filter(Boolean).join(" · ");
}

export class MediaPanel {
  // onLibrary(names) gets the library's names by kind: { image: [...], video: [...], ... }.
  constructor(api, onLibrary) {
    this.api = api;
    this.onLibrary = onLibrary;
    this.list = byId("media-list");
    this.note = byId("media-error");
    this.form = byId("media-form");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload();
    });
  }

  async refresh() {
    let items;
    try {
      items = (await this.api.get("/media")).body;
    } catch (error) {
      showMessage(this.note, `Media unavailable: ${error.message}`);
      return;
    }
    // A replaced file is a new row, so its poster is fetched again.
    syncList(this.list, items, (item) => `${item.name} ${item.modifiedAt}`,
      (item) => this.row(item), () => {});
    const names = { image: [], video: [], audio: [] };
    for (const item of items) names[item.kind ?? "image"]?.push(item.name);
    this.onLibrary(names);
  }

  row(item) {
    const poster = item.poster ? el("img", { class: "poster", alt: `Poster of ${item.name}`,
      width: 96, height: 54 }) : null;
    if (poster) this.showPoster(poster, item.poster);
    return el("li", { "data-kind": item.kind ?? "image" }, poster,
      el("span", { class: "name", text: item.name }),
      el("span", { class: "kind", text: item.kind ?? "image" }),
      el("span", { class: "figures-line", text: figures(item) }));
  }

  // The poster needs the API's token like any call, which an <img src> cannot send: it is
  // fetched and shown from a Blob. One that cannot be had leaves the alt text.
  async showPoster(image, path) {
    try {
      const url = URL.createObjectURL(await this.api.blob(path));
      image.addEventListener("load", () => URL.revokeObjectURL(url), { once: true });
      image.src = url;
    } catch {
      image.classList.add("missing");
    }
  }

  async upload() {
    const file = this.form.elements.file.files[0];
    if (!file) {
      showMessage(this.note, "Choose a file first.");
      return;
    }
    const data = new FormData();
    data.append("file", file);
    const button = this.form.querySelector("button");
    button.disabled = true;
    clearFieldErrors(this.form);
    showMessage(this.note, "");
    this.showProgress(file.name, 0, file.size);
    byId("media-upload").hidden = false;
    try {
      await this.api.upload("/media", data,
        (sent, total) => this.showProgress(file.name, sent, total));
      this.form.reset();
    } catch (error) {
      showFormError(this.form, this.note, error); // "file: notes.mp4 is not a video…"
    }
    byId("media-upload").hidden = true;
    button.disabled = false;
    await this.refresh();
  }

  // Sent bytes on the bar; once all are sent the API still checks the file (a probe).
  showProgress(name, sent, total) {
    const bar = byId("media-progress");
    bar.max = total || 1;
    bar.value = sent;
    byId("media-progress-text").value = sent < total
      ? `Uploading ${name}: ${bytes(sent)} of ${bytes(total)} (${Math.floor((100 * sent) / total)} %)`
      : `Checking ${name}…`;
  }
}
