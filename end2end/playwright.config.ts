import { defineConfig } from '@playwright/test';

// Release binaries on their own ports, so a dev server on :3000 can keep running:
// the app three times (local provider, MessageBird and Twilio against the fake
// upstream) and the fake upstream itself.
const port = Number(process.env.E2E_PORT ?? '3100');
export const apps = {
  local: `http://127.0.0.1:${port}`,
  messagebird: `http://127.0.0.1:${port + 1}`,
  twilio: `http://127.0.0.1:${port + 2}`,
};
export const fakeUpstream = `http://127.0.0.1:${port + 10}`;
// A host site on another site than the widget (localhost against 127.0.0.1).
export const hostSite = `http://localhost:${port + 20}`;
// The demo host (examples/demo-host), once per provider, likewise on localhost.
export const demoHosts = {
  local: `http://localhost:${port + 21}`,
  messagebird: `http://localhost:${port + 22}`,
  twilio: `http://localhost:${port + 23}`,
};

// Fresh state for every run, one SQLite file per app.
// Workers load this file again: they take the main process's choice from the
// environment, so that tests can read the demo host's accounts database.
export const dataRoot = (process.env.E2E_DATA_ROOT ??= `target/e2e-data/${Date.now()}`);

const common = {
  LEPTOS_SITE_ROOT: 'target/site',
  VERIFY_RESEND_COOLDOWN_SECS: '3',
  UPSTREAM_TIMEOUT_MS: '2000',
  // Every test comes from 127.0.0.1 and most send to British numbers: the per-IP,
  // per-prefix and hourly budgets (tested in tests/server/limits.rs) would
  // otherwise stop the suite.
  VERIFY_LIMIT_IP_PER_HOUR: '100000',
  VERIFY_LIMIT_PREFIX_PER_HOUR: '100000',
  VERIFY_LIMIT_GLOBAL_PER_HOUR: '100000',
  VERIFY_LIMIT_COUNTRY_PER_HOUR: '100000',
  VERIFY_LIMIT_SESSIONS_PER_HOUR: '100000',
  RUST_LOG: 'error,tower_http=off',
};

function app(provider: keyof typeof apps, env: Record<string, string>) {
  return {
    command: './target/release/phone-verify',
    cwd: '..',
    url: `${apps[provider]}/`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
    env: {
      ...common,
      LEPTOS_SITE_ADDR: apps[provider].replace('http://', ''),
      DATA_DIR: `${dataRoot}/${provider}`,
      ...env,
    },
  };
}

function demoHost(provider: keyof typeof apps) {
  const hostPort = new URL(demoHosts[provider]).port;
  return {
    command: './target/release/demo-host',
    cwd: '..',
    // The browser goes to localhost; the readiness check to the address it binds.
    url: `http://127.0.0.1:${hostPort}/`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
    env: {
      DEMO_HOST_ADDR: `127.0.0.1:${hostPort}`,
      DEMO_HOST_URL: demoHosts[provider],
      WIDGET_URL: apps[provider],
      DEMO_DATABASE: `${dataRoot}/demo-${provider}/accounts.sqlite`,
      RUST_LOG: 'error',
    },
  };
}

const chromium = {
  browserName: 'chromium' as const,
  trace: 'retain-on-failure' as const,
  launchOptions: {
    // Debian's Chromium; Playwright must never download its own browser here.
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  },
};

export default defineConfig({
  testDir: './tests',
  // A hang detector, not a speed target: the first tests on a cold 2-core CI
  // machine run several times slower than on a warm one.
  timeout: 60_000,
  // Waits, not speed targets: a first frame on a cold machine loads the loader, the
  // embed page and the bundle before anything shows.
  expect: { timeout: 10_000 },
  fullyParallel: true,
  workers: 2,
  reporter: [['list']],
  forbidOnly: true,
  projects: [
    { name: 'local', testMatch: /flow|no-js|bundle|experience|a11y|languages/, use: { ...chromium, baseURL: apps.local } },
    { name: 'messagebird', testMatch: /flow|no-js|languages/, use: { ...chromium, baseURL: apps.messagebird } },
    { name: 'twilio', testMatch: /flow|no-js|languages/, use: { ...chromium, baseURL: apps.twilio } },
    {
      name: 'embed',
      testMatch: /embed/,
      use: {
        ...chromium,
        baseURL: hostSite,
        // Third-party cookies blocked, as Safari does and Chrome is moving to.
        launchOptions: { ...chromium.launchOptions, args: [...chromium.launchOptions.args, '--test-third-party-cookie-phaseout'] },
      },
    },
    // The demo host across two sites, on each provider, third-party cookies blocked.
    ...(Object.keys(demoHosts) as (keyof typeof demoHosts)[]).map((provider) => ({
      name: `demo-${provider}`,
      testMatch: /demo-host/,
      metadata: { provider },
      use: {
        ...chromium,
        baseURL: demoHosts[provider],
        launchOptions: { ...chromium.launchOptions, args: [...chromium.launchOptions.args, '--test-third-party-cookie-phaseout'] },
      },
    })),
    // Fault knobs are global to the fake upstream: run them alone, after the rest.
    {
      name: 'faults',
      testMatch: /faults/,
      dependencies: ['local', 'messagebird', 'twilio', 'demo-local', 'demo-messagebird', 'demo-twilio'],
      use: chromium,
    },
  ],
  webServer: [
    {
      command: './target/release/fake-verify',
      cwd: '..',
      url: `${fakeUpstream}/_fake/stats`,
      reuseExistingServer: false,
      env: { FAKE_VERIFY_ADDR: fakeUpstream.replace('http://', '') },
    },
    {
      command: 'node host/server.mjs',
      url: `${hostSite}/signup`,
      reuseExistingServer: false,
      env: { HOST_ADDR: hostSite.replace('http://', ''), WIDGET_URL: apps.local },
    },
    // SMS end with the origin-bound line `@127.0.0.1 #123456` (WebOTP, Safari AutoFill).
    app('local', { VERIFY_OTP_DOMAIN: '127.0.0.1' }),
    app('messagebird', {
      VERIFY_PROVIDER: 'messagebird',
      MESSAGEBIRD_ACCESS_KEY: 'test_fake_messagebird_key',
      MESSAGEBIRD_API_URL: fakeUpstream,
      // Confirmation texts (POST /api/v1/notify) through the fake's SMS API.
      MESSAGEBIRD_ORIGINATOR: 'HarbourBank',
    }),
    app('twilio', {
      VERIFY_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
      TWILIO_AUTH_TOKEN: 'test_fake_twilio_token',
      TWILIO_VERIFY_SERVICE_SID: 'VA00000000000000000000000000000000',
      TWILIO_VERIFY_API_URL: fakeUpstream,
      TWILIO_API_URL: fakeUpstream,
      TWILIO_FROM: '+15005550006',
    }),
    demoHost('local'),
    demoHost('messagebird'),
    demoHost('twilio'),
  ],
});
