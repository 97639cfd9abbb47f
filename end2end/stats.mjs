// Median, p90 and minimum of a list of milliseconds, as the benchmarks print them.
export function stat(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(s.length * p))].toFixed(0);
  return `median ${at(0.5)} ms, p90 ${at(0.9)} ms, min ${s[0].toFixed(0)} ms`;
}

// Headless Debian Chromium as the benchmarks launch it (extra flags appended).
export const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

// Network profiles for the slow-network runs: "Fast 3G" as the issue and Chrome's
// DevTools name it: 1.6 Mbit/s down, 750 kbit/s up, 150 ms from request to answer.
export const networks = {
  fast3g: { offline: false, latency: 150, downloadThroughput: 1_600_000 / 8, uploadThroughput: 750_000 / 8 },
};

// Emulates the network profile `name` (none: no emulation) for `page`, through the
// DevTools protocol. A frame from another site runs in its own process and is not
// throttled by this; embed-tti.mjs launches Chromium without site isolation for that.
export async function emulateNetwork(context, page, name) {
  if (!name) return;
  const conditions = networks[name];
  if (!conditions) throw new Error(`unknown network profile ${name}`);
  const session = await context.newCDPSession(page);
  await session.send('Network.enable');
  await session.send('Network.emulateNetworkConditions', conditions);
}
