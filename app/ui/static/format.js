// Figures as the page shows them: durations, bit rates and file sizes in human units.

// "01:02:03" for 3 723 000 ms (hours keep counting past a day).
export function duration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const parts = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  return parts.map((part) => String(part).padStart(2, "0")).join(":");
}

// "2.5 Mb/s" for 2 500 000 bits/s: decimal units, as encoders and ingests state rates.
export function bitrate(bitsPerSecond) {
  if (bitsPerSecond >= 1e6) return `${(bitsPerSecond / 1e6).toFixed(1)} Mb/s`;
  if (bitsPerSecond >= 1e3) return `${Math.round(bitsPerSecond / 1e3)} kb/s`;
  return `${Math.round(bitsPerSecond)} b/s`;
}

// "1.4 GiB" for a file's bytes: binary units, as file managers state sizes.
export function bytes(count) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

// "14:03:22" for an epoch-ms instant: the local time of day, 24-hour.
export function timeOfDay(ms) {
  const at = new Date(ms);
  return [at.getHours(), at.getMinutes(), at.getSeconds()]
    .map((part) => String(part).padStart(2, "0")).join(":");
}

// "1:02.3" for 62.3 s of a clip ("1:01:02.3" past an hour): tenths, as players show a position.
export function clipTime(seconds) {
  const tenths = Math.max(0, Math.floor(seconds * 10));
  const minutes = Math.floor(tenths / 600);
  const rest = `${String(Math.floor(tenths / 10) % 60).padStart(2, "0")}.${tenths % 10}`;
  if (minutes < 60) return `${minutes}:${rest}`;
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}:${rest}`;
}
