// Undo and redo: the header's buttons and the keyboard (Ctrl+Z, Ctrl+Shift+Z and Ctrl+Y; ⌘ on
// a Mac), through POST /stream/undo and /stream/redo. Each is a new change that every client
// hears as a layerUpdate, so the lists follow by themselves. Presses go one after the other:
// two quick Ctrl+Z undo two changes. "Nothing to undo" (409) is said quietly beside the
// buttons; other failures say what went wrong there too, in red.
import { byId, errorText } from "./dom.js";

// How long a note beside the buttons stays.
const NOTE_MS = 4000;
// Inputs that take typed text: there Ctrl+Z is the browser's own undo of the typing.
const NOT_TYPED = new Set(["checkbox", "radio", "range", "button", "submit", "reset", "file", "color"]);

function typingIn(target) {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA") return true;
  return target.tagName === "INPUT" && !NOT_TYPED.has(target.type);
}

// "undo" or "redo" for a key press, or null.
function actionOf(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = event.key.toLowerCase();
  if (key === "z") return event.shiftKey ? "redo" : "undo";
  if (key === "y" && !event.shiftKey) return "redo";
  return null;
}

export class UndoRedo {
  // onDone() is called after each undo or redo that changed something.
  constructor(api, onDone = () => {}) {
    this.api = api;
    this.onDone = onDone;
    this.note = byId("undo-note");
    this.queue = Promise.resolve();
    this.noteTimer = null;
    byId("undo").addEventListener("click", () => this.run("undo"));
    byId("redo").addEventListener("click", () => this.run("redo"));
    document.addEventListener("keydown", (event) => {
      const action = actionOf(event);
      if (!action || typingIn(event.target) || document.querySelector("dialog[open]")) return;
      event.preventDefault();
      this.run(action);
    });
  }

  run(action) {
    this.queue = this.queue.then(() => this.send(action));
    return this.queue;
  }

  async send(action) {
    try {
      const { body } = await this.api.post(`/stream/${action}`);
      const seq = body[action === "undo" ? "undid" : "redid"];
      this.say(`${action === "undo" ? "Undid" : "Redid"} change #${seq}`);
      this.onDone();
    } catch (error) {
      if (error.status === 409) {
        const why = error.body.fields?.[action] ?? `nothing to ${action}`;
        this.say(why.charAt(0).toUpperCase() + why.slice(1));
      } else this.say(`${action} failed: ${errorText(error)}`, true);
    }
  }

  say(text, alarming = false) {
    clearTimeout(this.noteTimer);
    this.note.value = text;
    this.note.classList.toggle("error", alarming);
    this.noteTimer = setTimeout(() => { this.note.value = ""; }, NOTE_MS);
  }
}
