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

test('the bundle goes compressed and cached for a year under hashed names; the page is never stored', async ({ page }) => {
  const bundle: { url: string; headers: Record<string, string> }[] = [];
  let pageHeaders: Record<string, string> = {};
  page.on('response', async (response) => {
    if (response.url().includes('/pkg/')) bundle.push({ url: response.url(), headers: await response.allHeaders() });
    if (new URL(response.url()).pathname === '/') pageHeaders = await response.allHeaders();
  });
  await page.goto('/');
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
  expect(pageHeaders['cache-control']).toBe('no-store');
  const kinds = ['.wasm', '.js', '.css'];
  for (const kind of kinds) {
    const file = bundle.find((f) => f.url.endsWith(kind));
    expect(file, `a ${kind} file`).toBeTruthy();
    // phone-verify.<content hash>.<kind>
    expect(new URL(file!.url).pathname).toMatch(/^\/pkg\/phone-verify\.[A-Za-z0-9_-]{22}\.[a-z]+$/);
    expect(file!.headers['content-encoding'], file!.url).toBe('br');
    expect(file!.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(file!.headers['vary']).toContain('accept-encoding');
  }
});
