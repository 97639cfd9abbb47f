// Takes the README screenshots of every step, light and dark, from a running server
// with the local provider (it reads codes from the dev outbox).
//   node screenshots.mjs [base-url]     (default http://127.0.0.1:3000)
import { chromium } from 'playwright-core';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

async function codeFor(page, e164) {
  for (;;) {
    const outbox = await (await page.request.get(`${base}/dev/outbox.json`)).json();
    const message = outbox.find((m) => m.to === e164);
    if (message) return message.text.replace(/\D/g, '').slice(0, 6);
    await page.waitForTimeout(100);
  }
}

for (const scheme of ['light', 'dark']) {
  for (const lang of ['en', 'ar']) {
    const suffix = lang === 'en' ? scheme : `${scheme}-${lang}`;
    const page = await browser.newPage({ colorScheme: scheme, locale: 'en-GB', viewport: { width: 420, height: 600 } });
    const shot = (name) => page.screenshot({ path: `screenshots/${name}-${suffix}.png` });
    await page.goto(`${base}/?lang=${lang}`);
    await page.waitForSelector('body[data-hydrated]');
    await shot('1-phone');
    if (lang === 'en') {
      await page.click('.pv-picker-button');
      await page.fill('#pv-country-search', 'uni');
      await page.waitForSelector('#pv-country-list li');
      await shot('1-country');
      await page.keyboard.press('Escape');
    }
    const tail = String(100000 + Math.floor(Math.random() * 899999));
    await page.fill('#pv-phone', `07400 ${tail}`);
    await page.click('button.pv-button');
    await page.waitForSelector('#pv-code');
    const code = await codeFor(page, `+447400${tail}`);
    await page.fill('#pv-code', code.replace(/\d$/, (d) => String((Number(d) + 1) % 10)));
    await page.waitForSelector('.pv-error:not(:empty)');
    await page.fill('#pv-code', code.slice(0, 4));
    await shot('2-code');
    await page.fill('#pv-code', code);
    await page.waitForSelector('#pv-success-title');
    await shot('3-verified');
    await page.close();
  }
}
await browser.close();
