import { expect, test } from '@playwright/test';
import { codeFor, messagesTo, uniqueNumber, wrongCode } from './helpers';

// The same flow with JavaScript off: every step is a plain form and the server
// renders the right step from the session.
test.use({ javaScriptEnabled: false });

test('verifies a number by SMS with plain forms', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto('/');
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);

  const code = await codeFor(request, number.e164);
  await page.getByLabel('Code', { exact: true }).fill(wrongCode(code));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByTestId('error')).toHaveText("That code isn't right. You have 4 tries left.");

  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
  await expect(page.getByText(`${number.shown} is verified.`)).toBeVisible();
});

test('verifies a number by voice with plain forms', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto('/');
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByLabel('Call me').check();
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByText('A voice will read out your 6-digit code')).toBeVisible();
  const code = await codeFor(request, number.e164);
  expect((await messagesTo(request, number.e164))[0].channel).toBe('voice');
  await page.getByLabel('Code', { exact: true }).fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('a bad number shows the error once and keeps the input', async ({ page }) => {
  await page.goto('/');
  await page.getByLabel('Phone number').fill('call me');
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('error')).toHaveText(
    "That doesn't look like a phone number. Use digits only.",
  );
  await expect(page.getByLabel('Phone number')).toHaveValue('call me');
  await page.goto('/');
  await expect(page.getByTestId('error')).toHaveText('');
});

test('resending too early explains the wait; change number keeps the number', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto('/');
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('resend')).toBeEnabled(); // the server enforces the wait
  await page.getByTestId('resend').click();
  await expect(page.getByTestId('error')).toContainText(/Please wait \d seconds? before asking for another code/);
  expect(await messagesTo(request, number.e164)).toHaveLength(1);

  await page.getByRole('button', { name: 'Change number' }).click();
  await expect(page.getByLabel('Phone number')).toHaveValue(number.shown);
});

test('a national number with its country picked in the plain select', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto('/');
  await page.locator('select[name=country]').selectOption('GB');
  await page.getByLabel('Phone number').fill(`0${number.e164.slice(3)}`);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  expect(await messagesTo(request, number.e164)).toHaveLength(1);
  // A code typed with a space and in Arabic-Indic digits is understood by the server.
  const code = await codeFor(request, number.e164);
  const arabic = [...code].map((d) => String.fromCharCode(0x0660 + Number(d))).join('');
  await page.getByLabel('Code', { exact: true }).fill(`${arabic.slice(0, 3)} ${arabic.slice(3)}`);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('the language switch works without JavaScript', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('link', { name: 'Deutsch' }).click();
  await expect(page.getByRole('heading', { name: 'Telefonnummer bestätigen' })).toBeVisible();
  await page.getByLabel('Telefonnummer', { exact: true }).fill('12');
  await page.getByRole('button', { name: 'Code senden' }).click();
  await expect(page.getByTestId('error')).toHaveText(
    'Das sieht nicht nach einer Telefonnummer aus. Bitte nur Ziffern verwenden.',
  );
});

test('"call me instead" works without JavaScript', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.goto('/');
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  await page.waitForTimeout(3_100); // the first wait (3 s in these tests)
  await page.getByTestId('resend').click();
  await expect(page.getByTestId('call-instead')).toBeVisible();
  await page.waitForTimeout(6_100); // the doubled wait
  await page.getByTestId('call-instead').click();
  await expect(page.locator('#pv-code-lead')).toContainText("We're calling");
  expect((await messagesTo(request, number.e164))[0].channel).toBe('voice');
});
