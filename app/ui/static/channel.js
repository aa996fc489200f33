// Which channel the page works on: `?channel=<id>` in the page's address, `default` without
// it. Every /stream/... call the page makes goes to that channel (Api.scoped), and the preview
// watches it. Switching loads the page again on the other channel, so every panel starts from
// that channel's state and nothing of the previous one lingers (versions, forms, meters).
export const DEFAULT_CHANNEL = "default";
// The API's rule for an id (core.keys.CHANNEL_ID_RE): 1-32 lowercase letters, digits and inner
// hyphens.
export const CHANNEL_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

// The channel the page's address names.
export function pageChannel() {
  return new URLSearchParams(location.search).get("channel") || DEFAULT_CHANNEL;
}

// The page's address on `channel` (the default channel's has no `?channel=`).
export function channelAddress(channel) {
  const url = new URL(location.href);
  if (channel === DEFAULT_CHANNEL) url.searchParams.delete("channel");
  else url.searchParams.set("channel", channel);
  url.hash = "";
  return url.toString();
}

// Loads the page on `channel` (the browser's Back returns to the previous one).
export function switchChannel(channel) {
  if (channel !== pageChannel()) location.assign(channelAddress(channel));
}
