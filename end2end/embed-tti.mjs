// Time to interactive of the embedded widget inside a host page on another site, in
// headless Chromium on this machine: from the host page's navigation start to the
// loader's `pv-ready` (the frame is shown, its server-rendered forms usable) and to
// the frame's hydration (`body[data-hydrated]` inside the frame). Each load is a
// fresh context with an empty cache. Needs the app and host/server.mjs running.
// With `fast3g`, Chromium emulates a slow network (see stats.mjs) for every load.
//   node embed-tti.mjs [host-url] [loads] [fast3g]     (default http://localhost:3120, 20)
import { chromium } from 'playwright-core';
import { chromiumArgs, emulateNetwork, stat } from './stats.mjs';

const host = process.argv[2] ?? 'http://localhost:3120';
const loads = Number(process.argv[3] ?? 20);
const network = process.argv[4];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    ...chromiumArgs,
    '--test-third-party-cookie-phaseout',
    // The frame in the host page's process, so that the emulated network slows it too.
    ...(network ? ['--disable-site-isolation-trials', '--disable-features=IsolateOrigins,site-per-process'] : []),
  ],
});
const ready = [];
const hydrated = [];
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await emulateNetwork(context, page, network);
  await page.addInitScript(() => {
    document.addEventListener('pv-ready', () => (window.__readyAt = performance.now()));
  });
  await page.goto(`${host}/signup`);
  await page.waitForFunction(() => window.__readyAt !== undefined);
  const frame = page.locator('phone-verify iframe').contentFrame();
  await frame.locator('body[data-hydrated]').waitFor({ state: 'attached' });
  // Both clocks count from their own document's start: the frame's begins later.
  const frameStart = await page.evaluate(() => {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.includes('/embed?'));
    return entry ? entry.startTime : 0;
  });
  const inFrame = await frame.locator('body').evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    // The moment the attribute was set is not recorded in the frame; now is an upper bound.
    return performance.now() - (nav ? nav.startTime : 0);
  });
  ready.push(await page.evaluate(() => window.__readyAt));
  hydrated.push(frameStart + inFrame);
  await context.close();
}
await browser.close();
console.log(`embedded, over ${loads} cold loads of the host page${network ? ` on ${network}` : ''}:`);
console.log(`  frame shown (pv-ready): ${stat(ready)}`);
console.log(`  frame hydrated (upper bound): ${stat(hydrated)}`);
