import { expect, test } from '@playwright/test';
import { messagesTo, uniqueNumber, waitForHydration } from './helpers';

// English, German and Arabic, from the browser's language or the switch, and the
// same language for the SMS or call.

test('a German browser gets German, and so does the SMS', async ({ browser, request }, info) => {
  const context = await browser.newContext({ locale: 'de-DE', baseURL: info.project.use.baseURL });
  const page = await context.newPage();
  await page.goto('/');
  await waitForHydration(page);
  await expect(page.locator('html')).toHaveAttribute('lang', 'de');
  await expect(page.getByRole('heading', { name: 'Telefonnummer bestätigen' })).toBeVisible();
  await expect(page.locator('.pv-picker-button')).toHaveAttribute('aria-label', 'Land: Deutschland +49');
  const number = uniqueNumber();
  await page.getByLabel('Telefonnummer', { exact: true }).fill(number.typed);
  await page.getByRole('button', { name: 'Code senden' }).click();
  await expect(page.locator('#pv-code-lead')).toContainText('per SMS an');
  const [message] = await messagesTo(request, number.e164);
  if (info.project.name !== 'twilio') expect(message.text).toContain('Dein phone-verify-Code lautet');
  if (info.project.name !== 'local') expect(message.locale).toBe(info.project.name === 'twilio' ? 'de' : 'de-de');
  await context.close();
});

test('the switch turns the page Arabic, right to left, and the call speaks Arabic', async ({ page, request }, info) => {
  await page.goto('/');
  await waitForHydration(page);
  await page.getByRole('link', { name: 'العربية' }).click();
  await waitForHydration(page);
  await expect(page.locator('.pv-frame')).toHaveAttribute('dir', 'rtl');
  await expect(page.locator('.pv-frame')).toHaveAttribute('lang', 'ar');
  await expect(page.getByRole('heading', { name: 'تحقّق من رقم هاتفك' })).toBeVisible();
  const number = uniqueNumber();
  await page.locator('#pv-phone').fill(number.typed);
  await page.getByLabel('مكالمة').check();
  await page.getByRole('button', { name: 'أرسل الرمز' }).click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  const [message] = await messagesTo(request, number.e164);
  expect(message.channel).toBe('voice');
  if (info.project.name !== 'twilio') expect(message.text).toContain('رمز الأمان الخاص بك هو');
  if (info.project.name !== 'local') expect(message.locale).toBe(info.project.name === 'twilio' ? 'ar' : 'ar-sa');
  // The choice sticks for the session.
  await page.goto('/');
  await expect(page.locator('.pv-frame')).toHaveAttribute('lang', 'ar');
});
