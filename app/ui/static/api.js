// The HTTP API client: the token from sessionStorage, retries for outages, JSON errors.
const TOKEN_KEY = "stream-manager-token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Api {
  // askToken() resolves with a token typed by the operator (after a 401).
  constructor({ maxRetries, askToken }) {
    this.maxRetries = maxRetries;
    this.askToken = askToken;
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
        response = await fetch(path, init);
      } catch (error) {
        if (attempt < this.maxRetries) { await pause(250 * 2 ** attempt); continue; }
        throw new ApiError(0, { error: "unreachable", message: "the API cannot be reached" });
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

  // Saves the file at `path` as `fileName` through the browser's downloads. For a page with a
  // token: a plain link cannot send it, so the file is fetched with it and handed over as a
  // Blob (which Chromium keeps on disk once it is large).
  async save(path, fileName) {
    const response = await fetch(path, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => null));
    const url = URL.createObjectURL(await response.blob());
    const link = Object.assign(document.createElement("a"), { href: url, download: fileName });
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
