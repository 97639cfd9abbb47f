import { expect, test, type Page } from '@playwright/test';
import { codeFor, messagesTo, uniqueNumber, waitForHydration } from './helpers';

// The phone and code inputs, the countdown, the keyboard, and WebOTP.

async function open(page: Page) {
  await page.goto('/');
  await waitForHydration(page);
}

async function pickCountry(page: Page, search: string, name: RegExp) {
  await page.locator('.pv-picker-button').click();
  await page.getByRole('combobox').fill(search);
  await expect(page.getByRole('option').first()).toHaveText(name);
  await page.keyboard.press('Enter');
}

async function sendCodeTo(page: Page, typed: string) {
  await page.getByLabel('Phone number').fill(typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByRole('heading', { name: 'Enter the code' })).toBeVisible();
}

/** `123456` in Arabic-Indic digits with a space, as an Arabic keyboard or SMS has it. */
function arabicIndic(code: string): string {
  const digits = [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join('');
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

test('the country picker searches by name and dialling code, by keyboard', async ({ page }) => {
  await open(page);
  const button = page.locator('.pv-picker-button');
  await expect(page.locator('select[name=country]')).toBeHidden();
  await button.focus();
  await page.keyboard.press('ArrowDown');
  const search = page.getByRole('combobox');
  await expect(search).toBeFocused();
  await search.fill('germ');
  await expect(page.getByRole('status').filter({ hasText: /countr/ })).toHaveText('1 country');
  await expect(page.getByRole('option')).toHaveText([/Germany\s*\+49/]);
  await page.keyboard.press('Enter');
  await expect(button).toHaveAttribute('aria-label', 'Country: Germany +49');
  await expect(page.getByLabel('Phone number')).toBeFocused();

  await button.click();
  await search.fill('+44');
  await expect(page.getByRole('option').first()).toContainText('+44');
  await page.keyboard.press('ArrowDown');
  await expect(search).toHaveAttribute('aria-activedescendant', /pv-country-[A-Z]{2}/);
  await page.keyboard.press('Escape');
  await expect(search).toBeHidden();
  await expect(button).toBeFocused();
  await expect(button).toHaveAttribute('aria-label', 'Country: Germany +49');
});

test('after a reload on the code step, "Change number" brings back the picker with every country', async ({ page }) => {
  // The page carries the list only as the phone step's options: a page rendered on
  // the code step has none, and the widget asks the server for it.
  await open(page);
  await pickCountry(page, 'germ', /Germany/);
  const number = uniqueNumber();
  await sendCodeTo(page, number.e164);
  await page.reload();
  await waitForHydration(page);
  await expect(page.locator('select[name=country]')).toHaveCount(0);
  await page.getByRole('button', { name: 'Change number' }).click();
  // The number's own country, however quickly "Send code" followed the typing: the
  // server keeps it, not the Germany picked before a +44 number was typed.
  const button = page.locator('.pv-picker-button');
  await expect(button).toHaveAttribute('aria-label', 'Country: United Kingdom +44');
  await expect(page.locator('select[name=country]')).toBeHidden();
  await expect(page.locator('select[name=country]')).toHaveValue('GB');
  const options = await page.locator('select[name=country] option').count();
  expect(options).toBeGreaterThan(230);
  await pickCountry(page, 'switz', /Switzerland/);
  await expect(button).toHaveAttribute('aria-label', 'Country: Switzerland +41');
  await expect(page.locator('select[name=country]')).toHaveValue('CH');
});

test('the default country comes from the browser language', async ({ browser }) => {
  const context = await browser.newContext({ locale: 'en-GB' });
  const page = await context.newPage();
  await open(page);
  await expect(page.locator('.pv-picker-button')).toHaveAttribute('aria-label', 'Country: United Kingdom +44');
  await context.close();
});

test('national numbers and the shapes autofill produces all reach the same E.164 number', async ({ page, request }) => {
  for (const shape of ['national', 'no plus', 'full'] as const) {
    await open(page);
    await pickCountry(page, 'united kingdom', /United Kingdom/);
    const number = uniqueNumber();
    const digits = number.e164.slice(3); // 7400xxxxxx
    const typed = { national: `0${digits}`, 'no plus': `44${digits}`, full: number.e164 }[shape];
    await sendCodeTo(page, typed);
    await expect(page.getByTestId('sent-to'), shape).toHaveText(number.shown);
    expect((await messagesTo(request, number.e164)).length, shape).toBe(1);
    await page.getByRole('button', { name: 'Change number' }).click();
    // The next round reloads the page: only once the session is back on the phone
    // step, or the reload may still render the code step.
    await expect(page.locator('#pv-phone')).toBeVisible();
  }
});

test('as-you-type formatting lays the number out without moving the caret', async ({ page }) => {
  await open(page);
  await pickCountry(page, 'united kingdom', /United Kingdom/);
  const phone = page.getByLabel('Phone number');
  await phone.fill('07400123456');
  // The caret after the 3rd digit, as if the visitor went back to fix something.
  await phone.evaluate((el: HTMLInputElement) => el.setSelectionRange(3, 3));
  await expect(phone).toHaveValue('07400 123456');
  expect(await phone.evaluate((el: HTMLInputElement) => el.selectionStart)).toBe(3);

  // A number with another country's code moves the picker there.
  await phone.fill('+49 15123456789');
  await expect(phone).toHaveValue('+49 1512 3456789');
  await expect(page.locator('.pv-picker-button')).toHaveAttribute('aria-label', 'Country: Germany +49');
});

test('a number the server would refuse is flagged when leaving the field, with the same message', async ({ page, request }) => {
  await open(page);
  await pickCountry(page, 'united kingdom', /United Kingdom/);
  await page.getByLabel('Phone number').fill('07400 12');
  await page.waitForResponse('**/api/verify/format');
  await page.getByLabel('Text me').focus();
  await expect(page.getByTestId('error')).toHaveText(
    "That number isn't valid for its country. Check the digits and the country.",
  );
  expect(await messagesTo(request, '+44740012')).toHaveLength(0);
});

test('a code pasted in Arabic-Indic digits with a space verifies, submitted once by itself', async ({ page, request }) => {
  await open(page);
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  const code = await codeFor(request, number.e164);
  const checks: string[] = [];
  page.on('request', (r) => {
    if (r.url().endsWith('/api/verify/check')) checks.push(r.postData() ?? '');
  });
  const field = page.getByLabel('Code', { exact: true });
  await field.fill('12-3');
  await expect(field).toHaveValue('123');
  await field.fill(arabicIndic(code));
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
  expect(checks).toEqual([`code=${code}`]);
});

test('the code field stays left to right on a right-to-left page', async ({ page, request }) => {
  await page.goto('/?lang=ar');
  await waitForHydration(page);
  await expect(page.locator('.pv-frame')).toHaveAttribute('dir', 'rtl');
  const number = uniqueNumber();
  await page.locator('#pv-phone').fill(number.typed);
  await page.locator('button[type=submit].pv-button').click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  const field = page.locator('#pv-code');
  expect(await field.evaluate((el) => getComputedStyle(el).direction)).toBe('ltr');
  expect(await page.getByTestId('sent-to').evaluate((el) => getComputedStyle(el).direction)).toBe('ltr');
  await field.fill(await codeFor(request, number.e164));
  await expect(page.locator('#pv-success-title')).toHaveText('تم التحقق من رقم الهاتف');
});

test('the countdown follows the wall clock through a hidden tab and a reload', async ({ page }) => {
  await page.clock.install();
  await open(page);
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  const resend = page.getByTestId('resend');
  await expect(resend).toHaveText(/Resend code in 0:0[1-3]/);
  // The tab goes to the background: its timers stop firing (the clock is paused for
  // timers) while the wall clock runs on by 10 s.
  // Paused a little ahead of the page's clock: far enough that this call gets there
  // first on a loaded machine (50 ms did not once in CI: "fast-forward to the past").
  const pausedAt = (await page.evaluate(() => Date.now())) + 300;
  await page.clock.pauseAt(pausedAt);
  const before = await resend.textContent();
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    // As the browser fires it: at the document, bubbling to the window.
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  await page.clock.setSystemTime(pausedAt + 10_000);
  await page.waitForTimeout(500);
  await expect(resend).toHaveText(before!);
  // Back in front: the right time at once, not where the stalled timer left it.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    // As the browser fires it: at the document, bubbling to the window.
    document.dispatchEvent(new Event('visibilitychange', { bubbles: true }));
  });
  await expect(resend).toHaveText('Resend code');
  await expect(resend).toBeEnabled();
});

test('a reload keeps the wait the server set, instead of starting it over', async ({ page }) => {
  await open(page);
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  // A second later the server's wait (3 s in these tests) has 1 or 2 s left; a
  // countdown that started over would say 0:03.
  await page.waitForTimeout(1_000);
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('resend')).toHaveText(/Resend code in 0:0[12]/);
});

test('after repeated texts the visitor is offered a call instead', async ({ page, request }) => {
  await open(page);
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  await expect(page.getByTestId('call-instead')).toHaveCount(0);
  const resend = page.getByTestId('resend');
  await expect(resend).toBeEnabled({ timeout: 6_000 });
  await resend.click();
  await expect(page.getByTestId('announcer')).toContainText('We texted a 6-digit code to');
  const callInstead = page.getByTestId('call-instead');
  await expect(callInstead).toBeVisible();
  await expect(callInstead).toBeDisabled();
  // The wait doubled (3 s, then 6 s).
  await expect(callInstead).toBeEnabled({ timeout: 9_000 });
  await callInstead.click();
  await expect(page.locator('#pv-code-lead')).toContainText("We're calling");
  await expect.poll(async () => (await messagesTo(request, number.e164))[0]?.channel).toBe('voice');
  await expect(page.getByTestId('call-instead')).toHaveCount(0);
});

test('the whole flow works by keyboard alone, with focus moved to each step', async ({ page, request }) => {
  await open(page);
  const number = uniqueNumber();
  for (let i = 0; i < 10 && !(await page.getByLabel('Phone number').evaluate((el) => el === document.activeElement)); i++) {
    await page.keyboard.press('Tab');
  }
  await expect(page.getByLabel('Phone number')).toBeFocused();
  await page.keyboard.type(number.typed);
  await page.keyboard.press('Enter');
  const field = page.getByLabel('Code', { exact: true });
  await expect(field).toBeFocused();
  await page.keyboard.type(await codeFor(request, number.e164));
  await expect(page.locator('#pv-success-title')).toBeFocused();
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await expect(page.getByLabel('Phone number')).toBeFocused();
  await expect(page.getByLabel('Phone number')).toHaveValue(number.shown);
});

/** A stand-in for Chrome's WebOTP: records the request and lets the test answer it. */
async function fakeWebOtp(page: Page) {
  await page.addInitScript(() => {
    const w = window as unknown as Record<string, unknown>;
    w.OTPCredential = class {};
    navigator.credentials.get = (options?: CredentialRequestOptions) =>
      new Promise((resolve, reject) => {
        w.otpRequest = options;
        w.answerOtp = (code: string) => resolve({ code, type: 'otp' } as unknown as Credential);
        options?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
  });
}

test('WebOTP fills in the code from the SMS and submits it', async ({ page, request }) => {
  await fakeWebOtp(page);
  await open(page);
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  await expect.poll(() => page.evaluate(() => (window as any).otpRequest?.otp?.transport)).toEqual(['sms']);
  const [message] = await messagesTo(request, number.e164);
  // The SMS ends with the origin-bound line the browser matches.
  const code = await codeFor(request, number.e164);
  expect(message.text).toMatch(new RegExp(`\\n\\n@127\\.0\\.0\\.1 #${code}$`));
  await page.evaluate((c) => (window as any).answerOtp(c), code);
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('typing aborts the WebOTP request', async ({ page }) => {
  await fakeWebOtp(page);
  await open(page);
  await sendCodeTo(page, uniqueNumber().typed);
  await expect.poll(() => page.evaluate(() => Boolean((window as any).otpRequest))).toBe(true);
  await page.getByLabel('Code', { exact: true }).press('1');
  await expect.poll(() => page.evaluate(() => (window as any).otpRequest.signal.aborted)).toBe(true);
});

test('every step fits a 320 px wide screen', async ({ browser, request }, info) => {
  const context = await browser.newContext({ viewport: { width: 320, height: 640 }, baseURL: info.project.use.baseURL });
  const page = await context.newPage();
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await open(page);
  expect(await fits(), 'phone step').toBe(true);
  await page.locator('.pv-picker-button').click();
  expect(await fits(), 'country list').toBe(true);
  await page.keyboard.press('Escape');
  const number = uniqueNumber();
  await sendCodeTo(page, number.typed);
  expect(await fits(), 'code step').toBe(true);
  await page.getByLabel('Code', { exact: true }).fill(await codeFor(request, number.e164));
  await expect(page.locator('#pv-success-title')).toBeVisible();
  expect(await fits(), 'success step').toBe(true);
  await context.close();
});
