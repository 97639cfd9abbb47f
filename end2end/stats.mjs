// Median, p90 and minimum of a list of milliseconds, as the benchmarks print them.
export function stat(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(s.length * p))].toFixed(0);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${s[0].toFixed(0)} ms`;
}

// Headless Debian Chromium as the benchmarks launch it (extra flags appended).
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
