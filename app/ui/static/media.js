// Media: upload an image (POST /media) and list the library; image layers pick from it.
import { byId, el, showMessage } from "./dom.js";

export class MediaPanel {
  constructor(api, onImages) {
    this.api = api;
    this.onImages = onImages;
    byId("media-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.upload(event.target);
    });
  }

  async refresh() {
    try {
      const items = (await this.api.get("/media")).body;
      byId("media-list").replaceChildren(...items.map((item) =>
        el("li", { text: `${item.name} — ${item.width}×${item.height}, ${Math.ceil(item.size / 1024)} KiB` })));
      this.onImages(items.map((item) => item.name));
    } catch (error) {
      showMessage(byId("media-error"), `Media unavailable: ${error.message}`);
    }
  }

  async upload(form) {
    const file = form.elements.file.files[0];
    if (!file) {
      showMessage(byId("media-error"), "Choose an image file first.");
      return;
    }
    const data = new FormData();
    data.append("file", file);
    try {
      await this.api.request("POST", "/media", { form: data });
      showMessage(byId("media-error"), "");
      form.reset();
    } catch (error) {
      const fields = Object.entries(error.body?.fields || {}).map(([k, v]) => `${k}: ${v}`);
      showMessage(byId("media-error"), [error.message, ...fields].join(" — "));
    }
    await this.refresh();
  }
}
