import { expect, test } from '@playwright/test';
import { apps, fakeUpstream } from '../playwright.config';
import { uniqueNumber, waitForHydration } from './helpers';

// Every fault knob of the fake upstream, through both real providers, in the browser:
// the visitor reads a clear message and the server never answers 500.
test.describe.configure({ mode: 'serial' });

const cases: { knobs: object; message: string | RegExp }[] = [
  { knobs: { fault: 'server_error' }, message: 'The verification service had a problem. Please try again in a moment.' },
  { knobs: { fault: 'reset' }, message: 'The verification service had a problem. Please try again in a moment.' },
  { knobs: { fault: 'malformed' }, message: 'The verification service had a problem. Please try again in a moment.' },
  { knobs: { fault: 'hang' }, message: 'The verification service is taking too long to answer. Please try again.' },
  { knobs: { fault: 'rate_limited', retry_after: 45 }, message: 'Too many attempts. Please wait 45 seconds and try again.' },
  { knobs: { blocked_prefixes: ['+44'] }, message: "We can't send codes to this number. Check it, or use another number." },
  {
    knobs: { disabled_channels: ['sms'] },
    message: "That way of sending codes isn't available right now. Please choose the other one.",
  },
];

test.afterAll(async ({ request }) => {
  await request.post(`${fakeUpstream}/_fake/knobs`, { data: {} });
});

for (const provider of ['messagebird', 'twilio'] as const) {
  for (const { knobs, message } of cases) {
    test(`${provider}: ${JSON.stringify(knobs)} shows a clear message`, async ({ page, request }) => {
      expect((await request.post(`${fakeUpstream}/_fake/knobs`, { data: knobs })).ok()).toBeTruthy();
      await page.goto(`${apps[provider]}/`);
      await waitForHydration(page);
      await page.getByLabel('Phone number').fill(uniqueNumber().typed);
      const answer = page.waitForResponse('**/api/verify/start');
      await page.getByRole('button', { name: 'Send code' }).click();
      const status = (await answer).status();
      expect(status).not.toBe(500);
      expect(status).toBeGreaterThanOrEqual(400);
      await expect(page.getByTestId('error')).toHaveText(message);
      await expect(page.getByLabel('Phone number')).not.toHaveValue('');
      await request.post(`${fakeUpstream}/_fake/knobs`, { data: {} });
    });
  }
}
