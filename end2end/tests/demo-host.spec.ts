import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import { expect, test, type APIRequestContext, type Browser, type Page } from '@playwright/test';
import { apps, dataRoot, fakeUpstream } from '../playwright.config';
import { uniqueNumber } from './helpers';

// The demo host (examples/demo-host, on localhost) embedding the widget (on
// 127.0.0.1): two sites, third-party cookies blocked, on the local provider and on
// MessageBird and Twilio through the fake upstream. Each flow is clicked through
// with JavaScript on and off; the accounts table and the confirmation texts are
// read where they really are. The refusals are in tests/server/demo_host.rs.

type Provider = 'local' | 'messagebird' | 'twilio';
const provider = () => test.info().project.metadata.provider as Provider;
const PASSWORD = 'correct horse battery';

function uniqueEmail(): string {
  return `u${Date.now()}${Math.floor(Math.random() * 1e6)}@example.org`;
}

/** The account's row, read with sqlite3 from the host's own database. */
function account(email: string): { phone: string; phone_verified: number; verified_at: number | null } | undefined {
  const db = `../${dataRoot}/demo-${provider()}/accounts.sqlite`;
  const out = execFileSync('sqlite3', ['-json', db, `SELECT phone, phone_verified, verified_at FROM accounts WHERE email = '${email}'`]);
  const rows = out.toString().trim() ? JSON.parse(out.toString()) : [];
  return rows[0];
}

/** The newest code sent to `e164`, once at least `count` were sent, as its owner reads or hears it. */
async function codeTo(request: APIRequestContext, e164: string, count = 1): Promise<string> {
  let code = '';
  await expect
    .poll(async () => {
      if (provider() === 'local') {
        const all = (await (await request.get(`${apps.local}/dev/outbox.json`)).json()) as { to: string; text: string }[];
        const mine = all.filter((m) => m.to === e164 && !m.text.includes('Harbour'));
        code = mine[0]?.text.replace(/\D/g, '').slice(0, 6) ?? '';
        return mine.length;
      }
      const all = (await (await request.get(`${fakeUpstream}/_fake/messages?to=${encodeURIComponent(e164)}`)).json()) as { provider: string; code: string }[];
      const mine = all.filter((m) => m.provider === provider());
      code = mine[0]?.code ?? '';
      return mine.length;
    })
    .toBeGreaterThanOrEqual(count);
  expect(code).toMatch(/^\d{6}$/);
  return code;
}

/** Texts other than codes sent to `e164`: the host's confirmations. */
async function confirmationsTo(request: APIRequestContext, e164: string): Promise<string[]> {
  if (provider() === 'local') {
    const all = (await (await request.get(`${apps.local}/dev/outbox.json`)).json()) as { to: string; text: string }[];
    return all.filter((m) => m.to === e164 && m.text.includes('Harbour')).map((m) => m.text);
  }
  const all = (await (await request.get(`${fakeUpstream}/_fake/texts?to=${encodeURIComponent(e164)}`)).json()) as { provider: string; body: string }[];
  return all.filter((m) => m.provider === provider()).map((m) => m.body);
}

/** The widget's frame on a host page, once shown. */
async function widget(page: Page) {
  await expect(page.locator('phone-verify iframe')).toBeVisible();
  return page.locator('phone-verify').frameLocator('iframe');
}

/** Sends the code and types it into the frame (JavaScript on). */
async function verifyInFrame(page: Page, request: APIRequestContext, e164: string, typed?: string, count = 1) {
  const frame = await widget(page);
  // Typed into the hydrated widget, which sends the code on the sixth digit: a
  // code typed into the server-rendered page before that would wait for a click.
  const hydrated = frame.locator('body[data-hydrated]');
  await expect(hydrated).toHaveCount(1);
  if (typed) await frame.locator('#pv-phone').fill(typed);
  await frame.locator('button.pv-button').click();
  await expect(frame.locator('#pv-code')).toBeVisible();
  await expect(hydrated).toHaveCount(1);
  await frame.locator('#pv-code').fill(await codeTo(request, e164, count));
  await expect(frame.locator('#pv-success-title')).toBeVisible();
  await expect.poll(() => page.locator('phone-verify').evaluate((el: any) => el.getResponse())).not.toBe('');
  await frameSettled(page);
}

/** Waits until the frame's height stops changing: the frame resizes to its success
 *  step around the time the token arrives, and a click on the host's button below
 *  it must land where the button is. (Once in CI, a click on "Confirm" right after
 *  the token submitted nothing.) */
async function frameSettled(page: Page) {
  const frame = page.locator('phone-verify iframe');
  let last = -1;
  await expect
    .poll(async () => {
      const height = (await frame.boundingBox())?.height ?? -1;
      const same = height === last;
      last = height;
      return same;
    }, { intervals: [100] })
    .toBe(true);
}

/** On the hosted page (JavaScript off): send, type, submit; back at the host. */
async function verifyOnHostedPage(page: Page, request: APIRequestContext, e164: string, count = 1) {
  await expect(page).toHaveURL(new RegExp(`^${apps[provider()]}/embed/s/`));
  await page.locator('button.pv-button').click();
  await page.locator('#pv-code').fill(await codeTo(request, e164, count));
  await page.locator('.pv-code-form button[type=submit]').click();
  await expect(page).toHaveURL(new RegExp(`^${test.info().project.use.baseURL}/`));
}

/** On /verify-phone: the code to the account's number, in the frame or on the hosted page. */
async function verifyAccountNumber(page: Page, request: APIRequestContext, e164: string, javaScriptEnabled: boolean) {
  await expect(page).toHaveURL(/\/verify-phone$/);
  if (javaScriptEnabled) {
    const frame = await widget(page);
    await expect(frame.locator('#pv-phone')).toHaveValue(/^\+44\*+\d{3}$/);
    await expect(frame.locator('#pv-phone')).toHaveAttribute('readonly', '');
    await verifyInFrame(page, request, e164);
    await page.getByRole('button', { name: 'Confirm' }).click();
  } else {
    await page.getByRole('link', { name: 'Verify on the verification page' }).click();
    await verifyOnHostedPage(page, request, e164);
  }
  await expect(page).toHaveURL(/\/account$/);
}

/** Signs up in the classic order: the account, unverified. */
async function signUp(page: Page, email: string, typed: string) {
  await page.goto('/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Mobile number').fill(typed);
  await page.getByRole('button', { name: 'Create account' }).click();
}

async function context(browser: Browser, javaScriptEnabled: boolean) {
  return browser.newContext({ javaScriptEnabled, baseURL: test.info().project.use.baseURL });
}

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`sign-up in one form creates the account for the verified number and texts a confirmation (${js})`, async ({ browser, request }) => {
    const page = await (await context(browser, javaScriptEnabled)).newPage();
    const email = uniqueEmail();
    const number = uniqueNumber();
    await page.goto('/register');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    if (javaScriptEnabled) {
      await verifyInFrame(page, request, number.e164, number.typed);
      await page.getByRole('button', { name: 'Create account' }).click();
    } else {
      await page.getByLabel('Mobile number').fill(number.typed);
      await page.getByRole('button', { name: 'Create account' }).click();
      await expect(page).toHaveURL(new RegExp(`^${apps[provider()]}/embed/s/`));
      expect(account(email)).toBeUndefined();
      // The number the host's form took is the one the code goes to.
      await expect(page.locator('#pv-phone')).toHaveValue(/^\+44\*+\d{3}$/);
      await verifyOnHostedPage(page, request, number.e164);
    }
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByTestId('phone-state')).toHaveAttribute('data-state', 'verified');
    await expect(page.getByText('Your account has been created.')).toBeVisible();
    expect(account(email)).toMatchObject({ phone: number.e164, phone_verified: 1 });
    await expect.poll(() => confirmationsTo(request, number.e164)).toEqual(['Your Harbour Bank account has been created.']);
    await page.context().close();
  });

  test(`register first, verify on the next page, then log in with a code (${js})`, async ({ browser, request }) => {
    const page = await (await context(browser, javaScriptEnabled)).newPage();
    const email = uniqueEmail();
    const number = uniqueNumber();
    await signUp(page, email, number.typed);
    await expect(page).toHaveURL(/\/verify-phone$/);
    expect(account(email)).toMatchObject({ phone: number.e164, phone_verified: 0 });
    await verifyAccountNumber(page, request, number.e164, javaScriptEnabled);
    await expect(page.getByTestId('phone-state')).toHaveAttribute('data-state', 'verified');
    expect(account(email)).toMatchObject({ phone: number.e164, phone_verified: 1 });
    await expect.poll(() => confirmationsTo(request, number.e164)).toEqual(['Your number is verified for your Harbour Bank account.']);

    // Login: the password, then a code to the account's number.
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.goto('/login');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await expect(page).toHaveURL(/\/login\/second-factor$/);
    if (javaScriptEnabled) {
      await verifyInFrame(page, request, number.e164, undefined, 2);
      await page.getByRole('button', { name: 'Log in' }).click();
    } else {
      await page.getByRole('link', { name: 'Verify on the verification page' }).click();
      await verifyOnHostedPage(page, request, number.e164, 2);
    }
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByRole('heading', { name: 'Your account' })).toBeVisible();
    await page.context().close();
  });

  test(`a new profile number, a landline, verified by a voice call (${js})`, async ({ browser, request }) => {
    const page = await (await context(browser, javaScriptEnabled)).newPage();
    const email = uniqueEmail();
    const mobile = uniqueNumber();
    // An account with its number verified, by the classic order.
    await signUp(page, email, mobile.typed);
    await verifyAccountNumber(page, request, mobile.e164, javaScriptEnabled);

    // One range of fixed lines per test, so that parallel tests never share a number.
    const tail = `${javaScriptEnabled ? 0 : 1}${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}`;
    const landline = { typed: `+44 20 7946 ${tail}`, e164: `+44207946${tail}` };
    if (javaScriptEnabled) {
      const frame = await widget(page);
      await expect(frame.locator('input[name=channel][value=voice]')).toBeChecked();
      await verifyInFrame(page, request, landline.e164, landline.typed);
      await page.getByRole('button', { name: 'Save number' }).click();
    } else {
      await page.getByRole('link', { name: 'Verify on the verification page' }).click();
      await expect(page.locator('input[name=channel][value=voice]')).toBeChecked();
      await page.locator('#pv-phone').fill(landline.typed);
      await verifyOnHostedPage(page, request, landline.e164);
    }
    await expect(page).toHaveURL(/\/account$/);
    await expect(page.getByText('Your new number is saved and verified.')).toBeVisible();
    expect(account(email)).toMatchObject({ phone: landline.e164, phone_verified: 1 });
    if (provider() !== 'local') {
      const calls = (await (await request.get(`${fakeUpstream}/_fake/messages?to=${encodeURIComponent(landline.e164)}`)).json()) as { channel: string }[];
      expect(calls.map((c) => c.channel)).toEqual(['voice']);
    }
    await page.context().close();
  });
}

test('axe finds nothing on the host pages, in all three languages, with the frame', async ({ page, request }) => {
  test.skip(provider() !== 'local', 'the pages are the same on every provider');
  const check = async (where: string) => {
    const results = await new AxeBuilder({ page }).analyze();
    const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(found, where).toEqual([]);
    if (process.env.DEMO_SCREENSHOTS) await page.screenshot({ path: `../docs/demo-host/${where.replace(/\W+/g, '-').replace(/^-/, '')}.png`, fullPage: true });
  };
  const email = uniqueEmail();
  const number = uniqueNumber();
  for (const lang of ['en', 'de', 'ar']) {
    await page.goto(`/lang/${lang}?back=/`);
    await check(`home ${lang}`);
    for (const path of ['/register', '/login']) {
      await page.goto(path);
      if (path === '/register') await widget(page);
      await check(`${path} ${lang}`);
    }
  }
  await page.goto('/lang/en?back=/signup');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByLabel('Mobile number').fill(number.typed);
  await page.getByRole('button', { name: 'Create account' }).click();
  await widget(page);
  await check('verify-phone en');
  await verifyInFrame(page, request, number.e164);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await widget(page);
  await check('account en');
  await page.goto('/lang/ar?back=/account');
  await widget(page);
  await check('account ar');
});
