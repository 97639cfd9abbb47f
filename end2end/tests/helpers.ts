import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { fakeUpstream } from '../playwright.config';

/** A fresh valid UK mobile number (+44 7400, all valid in libphonenumber) per test, so parallel tests never share one. */
export function uniqueNumber(): { typed: string; e164: string; shown: string } {
  const tail = String(100000 + Math.floor(Math.random() * 899999));
  return { typed: `+44 7400 ${tail}`, e164: `+447400${tail}`, shown: `+44 7400 ${tail}` };
}

/** A delivered message: `text` only from the local provider's outbox, `code` only from the fake upstream. */
export type Message = { to: string; channel: 'sms' | 'voice'; text?: string; code?: string; locale?: string };

/** Messages sent to `e164`, newest first, wherever this project's provider delivers them. */
export async function messagesTo(request: APIRequestContext, e164: string): Promise<Message[]> {
  const provider = test.info().project.name;
  const url = provider === 'local' ? '/dev/outbox.json' : `${fakeUpstream}/_fake/messages`;
  const response = await request.get(url);
  expect(response.ok()).toBeTruthy();
  const all = (await response.json()) as (Message & { provider?: string })[];
  return all.filter((m) => m.to === e164 && (provider === 'local' || m.provider === provider));
}

/** Reads the newest code sent to `e164`, as a person reads their SMS or hears the call. */
export async function codeFor(request: APIRequestContext, e164: string, count = 1): Promise<string> {
  let messages: Message[] = [];
  await expect
    .poll(async () => {
      messages = await messagesTo(request, e164);
      return messages.length;
    })
    .toBeGreaterThanOrEqual(count);
  const code = messages[0].code ?? messages[0].text!.replace(/\D/g, '').slice(0, 6);
  expect(code).toMatch(/^\d{6}$/);
  return code;
}

export function wrongCode(code: string): string {
  return code.replace(/\d/g, (d) => (d === '0' ? '1' : '0'));
}

/** Waits until the WASM bundle has taken over the server-rendered page. */
export async function waitForHydration(page: Page) {
  await expect(page.locator('body[data-hydrated]')).toHaveCount(1);
}
