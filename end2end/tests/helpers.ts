import { expect, type APIRequestContext, type Page } from '@playwright/test';

/** A fresh valid UK mobile number (+44 7400, all valid in libphonenumber) per test, so parallel tests never share one. */
export function uniqueNumber(): { typed: string; e164: string; shown: string } {
  const tail = String(100000 + Math.floor(Math.random() * 899999));
  return { typed: `+44 7400 ${tail}`, e164: `+447400${tail}`, shown: `+44 7400 ${tail}` };
}

export type OutboxMessage = { to: string; channel: 'sms' | 'voice'; text: string; sent_at: string };

export async function messagesTo(request: APIRequestContext, e164: string): Promise<OutboxMessage[]> {
  const response = await request.get('/dev/outbox.json');
  expect(response.ok()).toBeTruthy();
  const all = (await response.json()) as OutboxMessage[];
  return all.filter((m) => m.to === e164);
}

/** Reads the newest code sent to `e164` from the dev outbox, as a person reads their SMS. */
export async function codeFor(request: APIRequestContext, e164: string, count = 1): Promise<string> {
  let messages: OutboxMessage[] = [];
  await expect
    .poll(async () => {
      messages = await messagesTo(request, e164);
      return messages.length;
    })
    .toBeGreaterThanOrEqual(count);
  const digits = messages[0].text.replace(/\D/g, '').slice(0, 6);
  expect(digits).toHaveLength(6);
  return digits;
}

export function wrongCode(code: string): string {
  return code.replace(/\d/g, (d) => (d === '0' ? '1' : '0'));
}

/** Waits until the WASM bundle has taken over the server-rendered page. */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
}
