// Bytes the browser actually transfers (headers and compressed bodies, as Chromium's
// network stack counts them: CDP Network.loadingFinished encodedDataLength) for a
// first visit with an empty cache, then for a repeat visit in the same browser
// profile, split into the page and the bundle (/pkg/). Prints; asserts nothing.
//   node transfer.mjs [base-url] [visits]    (default http://127.0.0.1:3000, 5)
import { chromium } from 'playwright-core';
import { chromiumArgs } from './stats.mjs';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const visits = Number(process.argv[3] ?? 5);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: chromiumArgs,
});

/// Loads the page until it is interactive; returns bytes by kind of request.
async function visit(page, cdp) {
  const urls = new Map();
  const bytes = { page: 0, bundle: 0, other: 0, files: 0 };
  const sent = ({ requestId, request }) => urls.set(requestId, request.url);
  const finished = ({ requestId, encodedDataLength }) => {
    const url = urls.get(requestId) ?? '';
    const kind = url.includes('/pkg/') ? 'bundle' : new URL(url, base).pathname === '/' ? 'page' : 'other';
    bytes[kind] += encodedDataLength;
    bytes.files += 1;
  };
  cdp.on('Network.requestWillBeSent', sent);
  cdp.on('Network.loadingFinished', finished);
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-hydrated]');
  await page.waitForLoadState('networkidle');
  cdp.off('Network.requestWillBeSent', sent);
  cdp.off('Network.loadingFinished', finished);
  return bytes;
}

const show = (label, b) =>
  console.log(
    `${label}: page ${b.page} B, bundle ${b.bundle} B, other ${b.other} B, total ${b.page + b.bundle + b.other} B over ${b.files} responses`,
  );
for (let i = 0; i < visits; i++) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  show(`first visit ${i + 1}`, await visit(page, cdp));
  show(`repeat visit ${i + 1}`, await visit(page, cdp));
  await context.close();
}
await browser.close();
