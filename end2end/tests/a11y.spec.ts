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
