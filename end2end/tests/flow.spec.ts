import { expect, test } from '@playwright/test';
import { codeFor, messagesTo, uniqueNumber, waitForHydration, wrongCode } from './helpers';

test.beforeEach(async ({ page }) => {
  await page.goto('/');
  await waitForHydration(page);
});

test('verifies a number by SMS without leaving the page', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByLabel('Text me').check();
  const start = page.waitForResponse('**/api/verify/start');
  await page.getByRole('button', { name: 'Send code' }).click();
  expect((await start).status()).toBe(200);

  await expect(page.getByRole('heading', { name: 'Enter the code' })).toBeVisible();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  const code = await codeFor(request, number.e164);
  // A complete code submits itself, once.
  const checks: string[] = [];
  page.on('request', (r) => r.url().endsWith('/api/verify/check') && checks.push(r.url()));
  await page.getByLabel('Code', { exact: true }).fill(code);

  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
  await expect(page.getByTestId('host-note')).toContainText(number.e164);
  expect(checks).toHaveLength(1);
  expect(page.url()).toBe(`${new URL(page.url()).origin}/`);
});

test('verifies a number by a voice call that reads the code out', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByLabel('Call me').check();
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.locator('#pv-code-lead')).toContainText('A voice will read out your 6-digit code');

  const code = await codeFor(request, number.e164);
  const [message] = await messagesTo(request, number.e164);
  expect(message.channel).toBe('voice');
  // The local provider spells the code out; MessageBird's voice reads its %token.
  if (test.info().project.name === 'local') {
    expect(message.text).toBe(`Your security code is ${code.split('').join(', ')}.`);
  } else if (message.text !== undefined) {
    expect(message.text).toBe(`Your security code is ${code}.`);
  }

  await page.getByLabel('Code', { exact: true }).fill(code);
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('a bad number gets a clear error, keeps what was typed and sends nothing', async ({ page, request }) => {
  await page.getByLabel('Phone number').fill('+44 7911 12');
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('error')).toHaveText(
    "That number isn't valid for its country. Check the digits and the country.",
  );
  await expect(page.getByLabel('Phone number')).toHaveValue('+44 7911 12');
  await expect(page.getByLabel('Phone number')).toHaveAttribute('aria-invalid', 'true');
  expect(await messagesTo(request, '+44791112')).toHaveLength(0);
});

test('a wrong code says how many tries are left', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  const code = await codeFor(request, number.e164);
  await page.getByLabel('Code', { exact: true }).fill(wrongCode(code));
  await expect(page.getByTestId('error')).toHaveText("That code isn't right. You have 4 tries left.");
  await expect(page.getByTestId('code-hint')).toContainText('4 tries left.');
  // The right code still works afterwards.
  await page.getByLabel('Code', { exact: true }).fill(code);
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('the resend countdown runs, then resend sends a new code', async ({ page, request }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  const resend = page.getByTestId('resend');
  await expect(resend).toBeDisabled();
  await expect(resend).toHaveText(/Resend code in 0:0[1-3]/);
  await expect(resend).toBeEnabled({ timeout: 6_000 });
  await expect(resend).toHaveText('Resend code');
  await resend.click();
  await expect(resend).toBeDisabled();
  const code = await codeFor(request, number.e164, 2);
  await page.getByLabel('Code', { exact: true }).fill(code);
  await expect(page.getByRole('heading', { name: 'Phone number verified' })).toBeVisible();
});

test('change number goes back to the phone step with the number kept', async ({ page }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  await page.getByRole('button', { name: 'Change number' }).click();
  await expect(page.getByLabel('Phone number')).toHaveValue(number.shown);
});

test('a reload keeps the step and the countdown', async ({ page }) => {
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  await expect(page.getByTestId('resend')).toBeDisabled();
});

test('the page hydrates under its Content-Security-Policy with no console errors', async ({ page }) => {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await waitForHydration(page);
  const number = uniqueNumber();
  await page.getByLabel('Phone number').fill(number.typed);
  await page.getByRole('button', { name: 'Send code' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  expect(errors).toEqual([]);
});
