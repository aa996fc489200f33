// The HTTP API client: the token from sessionStorage, retries for outages, JSON errors, and
// the page's channel (every /stream/... path goes to it).
import { DEFAULT_CHANNEL } from "./channel.js";

const TOKEN_KEY = "stream-manager-token";
const UNREACHABLE = { error: "unreachable", message: "the API cannot be reached" };

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Api {
  // askToken() resolves with a token typed by the operator (after a 401); `channel` is the
  // channel the page works on.
  constructor({ maxRetries, askToken, channel = DEFAULT_CHANNEL }) {
    this.maxRetries = maxRetries;
    this.askToken = askToken;
    this.channel = channel;
  }

  // Where `path` is on the page's channel: /stream/... is the default channel's, another
  // channel's is /channels/<id>/stream/...; other paths (media, channels, nodes, the preview's
  // tickets) are the deployment's and stay as they are.
  scoped(path) {
    if (this.channel === DEFAULT_CHANNEL || !path.startsWith("/stream/")) return path;
    return `/channels/${encodeURIComponent(this.channel)}${path}`;
  }

  get token() { return sessionStorage.getItem(TOKEN_KEY); }
  set token(value) { sessionStorage.setItem(TOKEN_KEY, value); }

  // One call. Network failures and 503 are retried up to maxRetries times (with backoff);
  // a 401 asks for the token once and tries again. Non-2xx answers throw ApiError.
  async request(method, path, { json, form, headers = {} } = {}) {
    let askedForToken = false;
    for (let attempt = 0; ; attempt += 1) {
      const init = { method, headers: { ...headers } };
      if (this.token) init.headers.Authorization = `Bearer ${this.token}`;
      if (json !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(json);
      } else if (form) {
        init.body = form;
      }
      let response;
      try {
        response = await fetch(this.scoped(path), init);
      } catch (error) {
        if (attempt < this.maxRetries) { await pause(250 * 2 ** attempt); continue; }
        throw new ApiError(0, UNREACHABLE);
      }
      if (response.status === 503 && attempt < this.maxRetries) {
        await pause(250 * 2 ** attempt);
        continue;
      }
      if (response.status === 401 && !askedForToken) {
        askedForToken = true;
        this.token = await this.askToken();
        attempt -= 1;
        continue;
      }
      const body = response.status === 204 ? null : await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, body);
      return { status: response.status, body, etag: response.headers.get("ETag") };
    }
  }

  get(path) { return this.request("GET", path); }
  post(path, json) { return this.request("POST", path, { json }); }

  // A file the API serves, fetched with the token: an <img> or a link cannot send it.
  async blob(path) {
    const headers = this.token ? { Authorization: `Bearer ${this.token}` } : {};
    const response = await fetch(this.scoped(path), { headers });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    return response.blob();
  }

  // Saves the file at `path` as `fileName` through the browser's downloads. For a page with a
  // token: a plain link cannot send it, so the file is fetched with it and handed over as a
  // Blob (which Chromium keeps on disk once it is large).
  async save(path, fileName) {
    const url = URL.createObjectURL(await this.blob(path));
    const link = Object.assign(document.createElement("a"), { href: url, download: fileName });
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  // POSTs a multipart `form` through XMLHttpRequest, which reports the upload's progress where
  // fetch cannot: onProgress(sentBytes, totalBytes). A 401 asks for the token once and sends
  // again; a network failure is not retried (a 2 GB file is not sent twice unasked).
  async upload(path, form, onProgress) {
    for (let askedForToken = false; ; askedForToken = true) {
      const { status, body } = await this.sendForm(path, form, onProgress);
      if (status === 401 && !askedForToken) {
        this.token = await this.askToken();
        continue;
      }
      if (status < 200 || status >= 300) throw new ApiError(status, body);
      return { status, body };
    }
  }

  // One XMLHttpRequest POST: { status, body }, status 0 when the API cannot be reached.
  sendForm(path, form, onProgress) {
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open("POST", this.scoped(path));
      if (this.token) request.setRequestHeader("Authorization", `Bearer ${this.token}`);
      request.responseType = "json";
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded, event.total);
      };
      request.onload = () => resolve({ status: request.status, body: request.response });
      request.onerror = () => resolve({ status: 0, body: UNREACHABLE });
      request.send(form);
    });
  }
}
