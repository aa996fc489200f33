// Chat: post a message and see the recent ones (oldest first, newest at the bottom).
import { byId, clearFieldErrors, el, showFormError, showMessage } from "./dom.js";

const SHOWN = 20;

export class ChatPanel {
  constructor(api) {
    this.api = api;
    this.form = byId("chat-form");
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.post(); });
  }

  async refresh() {
    try {
      const messages = (await this.api.get(`/stream/chat?limit=${SHOWN}`)).body;
      byId("chat-list").replaceChildren(...messages.map((entry) =>
        el("li", {}, el("span", { class: "author", text: entry.author }), entry.message)));
    } catch (error) {
      showMessage(byId("chat-error"), `Chat unavailable: ${error.message}`);
    }
  }

  async post() {
    clearFieldErrors(this.form);
    const controls = this.form.elements;
    try {
      await this.api.post("/stream/chat", { author: controls.author.value, message: controls.message.value });
      controls.message.value = "";
      showMessage(byId("chat-error"), "");
    } catch (error) {
      showFormError(this.form, byId("chat-error"), error);
    }
    await this.refresh();
  }
}
