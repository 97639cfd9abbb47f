// A host site on another origin than the widget, as a frontend developer builds one:
// plain HTML with the loader and <phone-verify> in a form, and a backend that trusts
// nothing but the token, checked twice: offline against the JWKS (node's own crypto,
// no library) and by siteverify. The Playwright tests in tests/embed.spec.ts drive it.
//
//   HOST_ADDR=localhost:3120 WIDGET_URL=http://127.0.0.1:3000 node host/server.mjs
import http from 'node:http';
import crypto from 'node:crypto';

const [hostName, port] = (process.env.HOST_ADDR ?? 'localhost:3120').split(':');
const WIDGET = process.env.WIDGET_URL ?? 'http://127.0.0.1:3000';
const SITEKEY = process.env.SITEKEY ?? 'pk_test_local';
const SECRET = process.env.SITE_SECRET ?? 'sk_test_local';
const ORIGIN = `http://${hostName}:${port}`;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="${WIDGET}/embed.js" async></script>
<style>:root{--brand:#c80064}body{font:16px system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}
phone-verify{display:block;margin:1rem 0;--pv-accent:var(--brand);--pv-radius:2px}</style>
</head><body><main>${body}</main></body></html>`;
}

function widgetForm(name, action, nonce, session = '') {
  return `<form method="post" action="/signup" data-testid="form-${name}">
  <input type="hidden" name="nonce" value="${nonce}">
  <input type="hidden" name="field" value="${name}">
  <label>Email <input name="email" type="email" value="ada@example.com"></label>
  <phone-verify sitekey="${SITEKEY}" name="${name}" action="${action}" nonce="${nonce}"${session ? ` session="${escape(session)}"` : ''} required></phone-verify>
  <button data-testid="submit-${name}">Create account</button>
</form>`;
}

const b64url = (text) => Buffer.from(text, 'base64url');

// The offline check a backend does with any JOSE library, spelled out.
async function checkOffline(token, nonce) {
  const [head, payload, signature] = String(token).split('.');
  const header = JSON.parse(b64url(head).toString());
  if (header.alg !== 'ES256' || header.typ !== 'pv+jwt') return { ok: false, why: 'algorithm' };
  const jwks = await (await fetch(`${WIDGET}/.well-known/jwks.json`)).json();
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) return { ok: false, why: 'unknown key' };
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  const valid = crypto.verify('sha256', Buffer.from(`${head}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, b64url(signature));
  if (!valid) return { ok: false, why: 'signature' };
  const claims = JSON.parse(b64url(payload).toString());
  const now = Date.now() / 1000;
  if (claims.iss !== WIDGET) return { ok: false, why: 'issuer' };
  if (claims.aud !== SITEKEY) return { ok: false, why: 'audience' };
  if (claims.exp + 60 <= now) return { ok: false, why: 'expired' };
  if (claims.origin !== ORIGIN) return { ok: false, why: 'origin' };
  if (claims.nonce !== nonce) return { ok: false, why: 'nonce' };
  return { ok: true, phone: claims.phone_number, amr: claims.amr.join(' ') };
}

async function siteverify(token) {
  const response = await fetch(`${WIDGET}/api/v1/siteverify`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ secret: SECRET, response: token }),
  });
  return response.json();
}

async function readForm(request) {
  let body = '';
  for await (const chunk of request) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, ORIGIN);
  const send = (status, html) => {
    response.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'referrer-policy': 'no-referrer' });
    response.end(html);
  };
  try {
    if (request.method === 'GET' && url.pathname === '/signup') {
      return send(200, page('Sign up', `<h1>Sign up</h1>${widgetForm('phone-verify-token', 'signup', 'nonce-signup-0001')}`));
    }
    if (request.method === 'GET' && url.pathname === '/two') {
      return send(200, page('Two widgets', `<h1>Two widgets</h1>${widgetForm('first', 'signup', 'nonce-first-00001')}${widgetForm('second', 'login', 'nonce-second-0001')}`));
    }
    if (request.method === 'GET' && url.pathname === '/login') {
      // A second factor: the backend asks for a session for the account's number.
      const made = await (await fetch(`${WIDGET}/api/v1/sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ secret: SECRET, phone_number: url.searchParams.get('phone') ?? '', ref: 'user_42', action: 'login' }),
      })).json();
      if (!made.success) return send(500, page('Error', `<h1>No session</h1><p>${escape(made['error-codes'])}</p>`));
      return send(200, page('Log in', `<h1>Confirm it is you</h1>${widgetForm('phone-verify-token', 'login', 'nonce-login-00001', made.session)}`));
    }
    if (request.method === 'GET' && url.pathname === '/nojs') {
      // For visitors without JavaScript: the hosted page, and back here with the token.
      const hosted = new URL(`${WIDGET}/hosted`);
      hosted.search = new URLSearchParams({ sitekey: SITEKEY, return_url: `${ORIGIN}/verified`, state: 'host-state-1', action: 'signup' });
      return send(200, page('Verify without JavaScript', `<h1>Verify your phone</h1>
<p><a data-testid="hosted" href="${escape(hosted)}">Verify your phone number</a></p>`));
    }
    if (request.method === 'GET' && url.pathname === '/verified') {
      const token = url.searchParams.get('pv_token') ?? '';
      const state = url.searchParams.get('state') ?? '';
      const online = await siteverify(token);
      return send(200, page('Verified', `<h1>Verified</h1>
<p data-testid="state">${escape(state)}</p>
<p data-testid="siteverify">${online.success ? `ok ${escape(online.phone_number)} ${escape(online.channel)} ${escape(online.hostname)} ${escape(online.action)}` : `refused: ${escape(online['error-codes'].join(' '))}`}</p>`));
    }
    if (request.method === 'POST' && url.pathname === '/signup') {
      const form = await readForm(request);
      const token = form[form.field] ?? '';
      const offline = await checkOffline(token, form.nonce).catch((e) => ({ ok: false, why: String(e) }));
      const online = await siteverify(token);
      const again = await siteverify(token);
      return send(200, page('Result', `<h1>Result</h1>
<p data-testid="offline">${offline.ok ? `ok ${escape(offline.phone)} ${escape(offline.amr)}` : `refused: ${escape(offline.why)}`}</p>
<p data-testid="siteverify">${online.success ? `ok ${escape(online.phone_number)} ${escape(online.channel)} ${escape(online.hostname)} ${escape(online.action)}` : `refused: ${escape(online['error-codes'].join(' '))}`}</p>
<p data-testid="ref">${escape(online.ref ?? '')}</p>
<p data-testid="replay">${again.success ? 'accepted twice!' : escape(again['error-codes'].join(' '))}</p>`));
    }
    send(404, page('Not found', '<h1>Not found</h1>'));
  } catch (error) {
    send(500, page('Error', `<h1>Error</h1><pre>${escape(error.stack)}</pre>`));
  }
});

server.listen(Number(port), hostName === 'localhost' ? '127.0.0.1' : hostName);
