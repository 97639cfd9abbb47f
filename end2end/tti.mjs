// Time from navigation to an interactive widget, in headless Chromium on this machine:
// how long after navigation start the WASM bundle has hydrated the page
// (`body[data-hydrated]`, set as the last step of `hydrate()`), plus first contentful
// paint. Each load is a fresh context with an empty cache. With `fast3g`, Chromium
// emulates a slow network (see stats.mjs) for every load.
//   node tti.mjs [base-url] [loads] [fast3g]     (default http://127.0.0.1:3000, 20)
import { chromium } from 'playwright-core';
import { chromiumArgs, emulateNetwork, stat } from './stats.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const loads = Number(process.argv[3] ?? 20);
const network = process.argv[4];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: chromiumArgs,
});
const interactive = [];
const paint = [];
for (let i = 0; i < loads; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await emulateNetwork(context, page, network);
  // Note the moment the attribute appears, not when a poll happens to see it.
  await page.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.hasAttribute('data-hydrated')) {
        window.__interactiveAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.__interactiveAt !== undefined);
  interactive.push(await page.evaluate(() => window.__interactiveAt));
  paint.push(
    await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN),
  );
  await context.close();
}
await browser.close();
const on = network ? ` on ${network}` : '';
console.log(`time to interactive over ${loads} cold loads${on}: ${stat(interactive)}`);
console.log(`first contentful paint: ${stat(paint)}`);
