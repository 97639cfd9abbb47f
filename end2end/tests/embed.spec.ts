import AxeBuilder from '@axe-core/playwright';
import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { apps } from '../playwright.config';
import { uniqueNumber } from './helpers';

// The widget embedded in a host page on another site (host/server.mjs on localhost,
// the widget on 127.0.0.1), with third-party cookies blocked: the frame carries its
// session without cookies, and the host's backend checks the token offline and by
// siteverify.

async function codeSentTo(request: APIRequestContext, e164: string): Promise<string> {
  let text = '';
  await expect
    .poll(async () => {
      const all = (await (await request.get(`${apps.local}/dev/outbox.json`)).json()) as { to: string; text: string }[];
      text = all.find((m) => m.to === e164)?.text ?? '';
      return text;
    })
    .not.toBe('');
  return text.replace(/\D/g, '').slice(0, 6);
}

async function verifyIn(page: Page, request: APIRequestContext, name: string, channel: 'sms' | 'voice') {
  const element = page.locator(`phone-verify[name="${name}"]`);
  const frame = element.frameLocator('iframe');
  await expect(element.locator('iframe')).toBeVisible();
  const number = uniqueNumber();
  await frame.locator('#pv-phone').fill(number.typed);
  if (channel === 'voice') await frame.locator('input[name=channel][value=voice]').check();
  await frame.locator('button.pv-button').click();
  await expect(frame.getByTestId('sent-to')).toHaveText(number.shown);
  await frame.locator('#pv-code').fill(await codeSentTo(request, number.e164));
  await expect(frame.locator('#pv-success-title')).toBeVisible();
  await expect.poll(() => element.evaluate((el: any) => el.getResponse())).not.toBe('');
  return number;
}

test('a host page on another site verifies by SMS and its backend trusts the token', async ({ page, request, context }) => {
  const events: string[] = [];
  await page.exposeFunction('recordEvent', (e: string) => events.push(e));
  await page.addInitScript(() => {
    for (const type of ['pv-ready', 'pv-step', 'pv-verified']) {
      document.addEventListener(type, (e: any) => (window as any).recordEvent(`${type}:${e.detail?.step ?? ''}`));
    }
  });
  await page.goto('/signup');
  const number = await verifyIn(page, request, 'phone-verify-token', 'sms');
  expect(events).toContain('pv-ready:');
  expect(events).toContain('pv-step:code');
  expect(events).toContain('pv-verified:');

  await page.getByTestId('submit-phone-verify-token').click();
  await expect(page.getByTestId('offline')).toHaveText(`ok ${number.e164} sms`);
  await expect(page.getByTestId('siteverify')).toHaveText(`ok ${number.e164} sms localhost signup`);
  await expect(page.getByTestId('replay')).toHaveText('timeout-or-duplicate');
  // Nothing of the widget's origin was ever kept in a cookie.
  expect(await context.cookies(apps.local)).toEqual([]);
});

test('by voice, the token says so', async ({ page, request }) => {
  await page.goto('/signup');
  const number = await verifyIn(page, request, 'phone-verify-token', 'voice');
  await page.getByTestId('submit-phone-verify-token').click();
  await expect(page.getByTestId('offline')).toHaveText(`ok ${number.e164} tel`);
  await expect(page.getByTestId('siteverify')).toHaveText(`ok ${number.e164} voice localhost signup`);
});

test('two widgets on one page each verify their own number', async ({ page, request }) => {
  await page.goto('/two');
  const first = await verifyIn(page, request, 'first', 'sms');
  const second = page.locator('phone-verify[name=second]');
  await expect(second.frameLocator('iframe').locator('#pv-phone')).toBeVisible();
  expect(await second.evaluate((el: any) => el.getResponse())).toBe('');
  const other = await verifyIn(page, request, 'second', 'sms');
  expect(other.e164).not.toBe(first.e164);
  await page.getByTestId('submit-second').click();
  await expect(page.getByTestId('siteverify')).toHaveText(`ok ${other.e164} sms localhost login`);
});

test('the form cannot be sent before the number is verified', async ({ page }) => {
  await page.goto('/signup');
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  await page.getByTestId('submit-phone-verify-token').click();
  await expect(page).toHaveURL(/\/signup$/);
  expect(await page.locator('phone-verify').evaluate((el: any) => el.matches(':invalid'))).toBe(true);
});

test('messages from another window or origin are ignored', async ({ page }) => {
  await page.goto('/signup');
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  // The host page itself (not the frame) pretends to hand over a token.
  await page.evaluate(() => window.postMessage({ pv: 1, wid: 'w1', type: 'token', token: 'forged' }, '*'));
  await page.waitForTimeout(200);
  expect(await page.locator('phone-verify').evaluate((el: any) => el.getResponse())).toBe('');
});

test('moving the element out and back in keeps one frame', async ({ page }) => {
  await page.goto('/signup');
  const element = page.locator('phone-verify');
  await expect(element.locator('iframe')).toBeVisible();
  const before = await element.locator('iframe').getAttribute('src');
  // What React StrictMode does to a component: unmount and mount again at once.
  await element.evaluate((el) => {
    const parent = el.parentNode!;
    const next = el.nextSibling;
    parent.removeChild(el);
    parent.insertBefore(el, next);
  });
  await page.waitForTimeout(100);
  await expect(element.locator('iframe')).toHaveCount(1);
  expect(await element.locator('iframe').getAttribute('src')).toBe(before);
  // Removed for good, the frame goes with it.
  await element.evaluate((el) => el.remove());
  await expect(page.locator('iframe')).toHaveCount(0);
});

test('loading the loader twice defines the element once', async ({ page }) => {
  await page.goto('/signup');
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  await page.addScriptTag({ url: `${apps.local}/embed.js` });
  await expect(page.locator('phone-verify iframe')).toHaveCount(1);
});

test('axe finds nothing in the host page with the frame, best practices included', async ({ page }) => {
  await page.goto('/signup');
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  await expect(page.locator('phone-verify').frameLocator('iframe').locator('body[data-hydrated]')).toHaveCount(1);
  const results = await new AxeBuilder({ page }).analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(found).toEqual([]);
});

for (const javaScriptEnabled of [true, false]) {
  test(`the hosted page verifies and returns to the host (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async ({ browser, request }) => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await page.goto('/nojs');
    await page.getByTestId('hosted').click();
    await expect(page).toHaveURL(new RegExp(`^${apps.local}/embed/s/`));
    const number = uniqueNumber();
    await page.locator('#pv-phone').fill(number.typed);
    await page.locator('button.pv-button').click();
    await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
    await page.locator('#pv-code').fill(await codeSentTo(request, number.e164));
    if (!javaScriptEnabled) await page.locator('.pv-code-form button[type=submit]').click();
    await expect(page).toHaveURL(/\/verified\?/);
    await expect(page.getByTestId('state')).toHaveText('host-state-1');
    await expect(page.getByTestId('siteverify')).toHaveText(`ok ${number.e164} sms localhost signup`);
    await context.close();
  });
}

test('a second factor: the host backend picks the number, the widget only sends the code', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto(`/login?phone=${encodeURIComponent(number.e164)}`);
  const frame = page.locator('phone-verify').frameLocator('iframe');
  await expect(frame.locator('#pv-phone')).toHaveValue(/^\+44\*+\d{3}$/);
  await expect(frame.locator('#pv-phone')).toHaveAttribute('readonly', '');
  await expect(frame.locator('#pv-country')).toBeHidden();
  await frame.locator('button.pv-button').click();
  await frame.locator('#pv-code').fill(await codeSentTo(request, number.e164));
  await expect(frame.locator('#pv-success-title')).toBeVisible();
  await expect.poll(() => page.locator('phone-verify').evaluate((el: any) => el.getResponse())).not.toBe('');
  await page.getByTestId('submit-phone-verify-token').click();
  await expect(page.getByTestId('siteverify')).toHaveText(`ok ${number.e164} sms localhost login`);
  await expect(page.getByTestId('ref')).toHaveText('user_42');
});

test("the frame takes the host's colours and forced scheme", async ({ page }) => {
  await page.goto('/signup');
  const frame = page.locator('phone-verify').frameLocator('iframe');
  // The host sets --pv-accent: var(--brand) on the element; the frame gets the value.
  await expect(frame.locator('button.pv-button')).toHaveCSS('background-color', 'rgb(200, 0, 100)');
  await page.locator('phone-verify').evaluate((el) => el.setAttribute('theme', 'dark'));
  await expect(frame.locator('html')).toHaveClass(/pv-theme-dark/);
  await expect(frame.locator('.pv-widget')).toHaveCSS('background-color', 'rgb(27, 30, 34)');
});

test('Tab moves into the frame and out of it again', async ({ page }) => {
  await page.goto('/signup');
  const frame = page.locator('phone-verify').frameLocator('iframe');
  await expect(frame.locator('body[data-hydrated]')).toHaveCount(1);
  await page.getByLabel('Email').focus();
  await page.keyboard.press('Tab');
  // The frame's first stop is its language switch.
  await expect(frame.locator('a.pv-lang').first()).toBeFocused();
  await page.keyboard.press('Shift+Tab');
  await expect(page.getByLabel('Email')).toBeFocused();
  // Forward through the whole frame, the next stop is the host's button.
  await page.keyboard.press('Tab');
  for (let i = 0; i < 30; i++) {
    if ((await page.evaluate(() => document.activeElement?.tagName)) !== 'IFRAME') break;
    await page.keyboard.press('Tab');
  }
  await expect(page.getByTestId('submit-phone-verify-token')).toBeFocused();
});

test('the frame grows with its content', async ({ page, request }) => {
  await page.goto('/signup');
  const iframe = page.locator('phone-verify iframe');
  const frame = page.locator('phone-verify').frameLocator('iframe');
  await expect(iframe).toBeVisible();
  const fits = async () => {
    const outer = await iframe.evaluate((el) => el.getBoundingClientRect().height);
    const inner = await frame.locator('body').evaluate((el) => Math.ceil(el.getBoundingClientRect().height));
    return Math.abs(outer - inner) <= 1;
  };
  await expect.poll(fits).toBe(true);
  const number = uniqueNumber();
  await frame.locator('#pv-phone').fill('12');
  await frame.locator('button.pv-button').click();
  await expect(frame.getByTestId('error')).not.toBeEmpty();
  await expect.poll(fits).toBe(true);
  await frame.locator('#pv-phone').fill(number.typed);
  await frame.locator('button.pv-button').click();
  await expect(frame.getByTestId('sent-to')).toHaveText(number.shown);
  await expect.poll(fits).toBe(true);
  await frame.locator('#pv-code').fill(await codeSentTo(request, number.e164));
  await expect(frame.locator('#pv-success-title')).toBeVisible();
  await expect.poll(fits).toBe(true);
});

test('without the widget bundle the frame still verifies by plain forms and hands over the token', async ({ page, request }) => {
  // What a frame whose WebAssembly cannot run does: the server-rendered forms alone.
  await page.route('**/pkg/**', (route) => route.abort());
  await page.goto('/signup');
  const element = page.locator('phone-verify');
  const frame = element.frameLocator('iframe');
  await expect(element.locator('iframe')).toBeVisible();
  const number = uniqueNumber();
  await frame.locator('#pv-phone').fill(number.typed);
  await frame.getByRole('button', { name: 'Send code' }).click();
  await expect(frame.getByTestId('sent-to')).toHaveText(number.shown);
  await frame.locator('#pv-code').fill(await codeSentTo(request, number.e164));
  await frame.getByRole('button', { name: 'Verify' }).click();
  await expect(frame.locator('#pv-success-title')).toBeVisible();
  await expect.poll(() => element.evaluate((el: any) => el.getResponse())).not.toBe('');
  await page.getByTestId('submit-phone-verify-token').click();
  await expect(page.getByTestId('siteverify')).toHaveText(`ok ${number.e164} sms localhost signup`);
});

test('an element that gets its sitekey after it is in the page still starts', async ({ page }) => {
  await page.goto('/signup');
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  // As a framework does: create the element, insert it, then bind its attributes.
  await page.evaluate(() => {
    const el = document.createElement('phone-verify');
    el.id = 'late';
    document.querySelector('main')!.appendChild(el);
    setTimeout(() => el.setAttribute('sitekey', 'pk_test_local'), 50);
  });
  await expect(page.locator('#late iframe')).toBeVisible();
  await expect(page.locator('#late').frameLocator('iframe').locator('#pv-phone')).toBeVisible();
});
