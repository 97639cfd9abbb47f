import AxeBuilder from '@axe-core/playwright';
import { expect, test, type Page } from '@playwright/test';
import { codeFor, uniqueNumber, waitForHydration, wrongCode } from './helpers';

// axe-core on every step, in a left-to-right and a right-to-left language, with and
// without an error showing, and with the country list open.

async function noViolations(page: Page, where: string) {
  const results = await new AxeBuilder({ page }).include('.pv-widget').analyze();
  const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  expect(found, where).toEqual([]);
}

for (const lang of ['en', 'ar']) {
  test(`axe finds nothing on any step (${lang})`, async ({ page, request }) => {
    // Six axe runs in one walk: on a cold 2-core machine that alone took 32 s.
    test.slow();
    await page.goto(`/?lang=${lang}`);
    await waitForHydration(page);
    await noViolations(page, 'phone step');
    await page.locator('.pv-picker-button').click();
    await expect(page.getByRole('listbox')).toBeVisible();
    await noViolations(page, 'country list open');
    await page.keyboard.press('Escape');

    await page.locator('#pv-phone').fill('12');
    await page.locator('button.pv-button').click();
    await expect(page.getByTestId('error')).not.toBeEmpty();
    await noViolations(page, 'phone step with an error');

    const number = uniqueNumber();
    await page.locator('#pv-phone').fill(number.typed);
    await page.locator('button.pv-button').click();
    await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
    await noViolations(page, 'code step');
    const code = await codeFor(request, number.e164);
    await page.locator('#pv-code').fill(wrongCode(code));
    await expect(page.getByTestId('error')).not.toBeEmpty();
    await noViolations(page, 'code step with an error');

    await page.locator('#pv-code').fill(code);
    await expect(page.locator('#pv-success-title')).toBeVisible();
    await noViolations(page, 'success step');
  });
}

// axe runs as a script in the page, so "without JavaScript" here means without the
// widget's bundle: the server-rendered forms alone, as a no-JS visitor gets them.
test('axe finds nothing in the server-rendered page alone', async ({ page }) => {
  await page.route('**/pkg/**', (route) => route.abort());
  await page.goto('/');
  await expect(page.locator('select[name=country]')).toBeVisible();
  await noViolations(page, 'plain phone step');
});

// The whole page, not just the widget, with axe-core's best-practice rules too: one
// level-one heading, landmarks, and so on.
test('the whole page passes best practices on every step', async ({ page, request }) => {
  test.slow();
  const whole = async (where: string) => {
    const results = await new AxeBuilder({ page }).analyze();
    const found = results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    expect(found, where).toEqual([]);
  };
  await page.goto('/');
  await waitForHydration(page);
  await whole('phone step');
  const number = uniqueNumber();
  await page.locator('#pv-phone').fill(number.typed);
  await page.locator('button.pv-button').click();
  await expect(page.getByTestId('sent-to')).toHaveText(number.shown);
  await whole('code step');
  await page.locator('#pv-code').fill(await codeFor(request, number.e164));
  await expect(page.locator('#pv-success-title')).toBeVisible();
  await whole('success step');
});

test('every digit box of the code field is as wide as the others', async ({ page, request }) => {
  await page.setViewportSize({ width: 900, height: 800 });
  await page.goto('/');
  await waitForHydration(page);
  const number = uniqueNumber();
  await page.locator('#pv-phone').fill(number.typed);
  await page.locator('button.pv-button').click();
  const field = page.locator('#pv-code');
  await expect(field).toBeVisible();
  // The boxes are a repeating gradient from the border edge; the first one is cut
  // short if the background is clipped to the content box.
  const style = await field.evaluate((el) => {
    const s = getComputedStyle(el);
    return { clip: s.backgroundClip, origin: s.backgroundOrigin, paddingLeft: parseFloat(s.paddingLeft) };
  });
  expect(style.origin).toBe('border-box');
  expect(style.clip === 'content-box' && style.paddingLeft > 0).toBe(false);
});
