// Takes the README screenshots of every step, light and dark, from a running server.
//   node screenshots.mjs [base-url]     (default http://127.0.0.1:3000)
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
for (const scheme of ['light', 'dark']) {
  const page = await browser.newPage({ colorScheme: scheme, viewport: { width: 420, height: 560 } });
  const shot = (name) => page.screenshot({ path: `screenshots/${name}-${scheme}.png` });
  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-hydrated]');
  await shot('1-phone');
  const tail = String(100000 + Math.floor(Math.random() * 899999));
  await page.fill('#pv-phone', `+44 7400 ${tail}`);
  await page.click('button:has-text("Send code")');
  await page.waitForSelector('#pv-code');
  await page.fill('#pv-code', '000000');
  await page.click('button:has-text("Verify")');
  await page.waitForSelector('text=tries left');
  await shot('2-code');
  const outbox = await (await page.request.get(`${base}/dev/outbox.json`)).json();
  const code = outbox.find((m) => m.to === `+447400${tail}`).text.replace(/\D/g, '').slice(0, 6);
  await page.fill('#pv-code', code);
  await page.click('button:has-text("Verify")');
  await page.waitForSelector('text=Phone number verified');
  await shot('3-verified');
  await page.close();
}
await browser.close();
