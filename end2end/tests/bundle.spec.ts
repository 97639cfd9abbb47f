import { expect, test } from '@playwright/test';

// Row 38 of the matrix in docs/security.md, for what the browser downloads: nothing of the
// server's configuration, its providers or their credentials is compiled into it.
const forbidden = [
  'test_fake_messagebird_key',
  'test_fake_twilio_token',
  'MESSAGEBIRD_ACCESS_KEY',
  'TWILIO_AUTH_TOKEN',
  'REDIS_URL',
  'rest.messagebird.com',
  'verify.twilio.com',
  'AccessKey',
  '_fake/',
];

test('the browser bundle holds no credentials, provider URLs or server settings', async ({ page, request }) => {
  const files: string[] = [];
  page.on('response', (response) => {
    if (response.url().includes('/pkg/')) files.push(response.url());
  });
  await page.goto('/');
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
  expect(files.some((url) => url.endsWith('.wasm'))).toBe(true);
  expect(files.some((url) => url.endsWith('.js'))).toBe(true);
  for (const url of files) {
    const body = (await (await request.get(url)).body()).toString('latin1');
    for (const secret of forbidden) {
      expect(body.includes(secret), `${secret} in ${url}`).toBe(false);
    }
  }
});
