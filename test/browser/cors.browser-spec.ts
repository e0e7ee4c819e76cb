// CORS in a real Chromium (Debian's, driven by playwright-core): a page served from an origin on
// CORS_ALLOWED_ORIGINS reads a user's funding sources with a bearer token; the same page served from an
// origin not on the list is blocked by the browser. The API's own CORS answers are checked over plain
// HTTP too. `npm run test:browser` demands a browser; `npm test` skips this file, saying so, only where
// none is installed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { registerUser, sandboxPublicToken, startTestApp, type TestApp } from '../support/test-app';
import { browserPath, CHROMIUM_FLAGS, describeInBrowser } from '../support/chromium';
import { tokenFor } from '../support/tokens';
import { UUID_PATTERN } from '../../src/common/param-pipes';

/** What the page's `callApi` reports: the answer as JS on that origin may read it, or why it could not. */
interface Outcome {
  blocked?: string;
  status?: number;
  /** Exposed through Access-Control-Expose-Headers. */
  requestId?: string | null;
  replayed?: string | null;
  /** Sent by the API on /v1 but not exposed: JS on another origin must not see it. */
  csp?: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
  body?: any;
}

/** What the page's fetch is given: plain data, so it crosses into the page as is. */
interface CallInit {
  method?: string;
  headers: Record<string, string>;
  body?: string;
}

/** The page's global, as the test sees it from Node (no DOM types here). */
interface PageGlobal {
  callApi(path: string, init: CallInit): Promise<Outcome>;
}

// The frontend, as small as it gets: API URL, user and token from the query string; on load it lists the
// user's funding sources and writes the outcome into the page. No template literals inside: this is a
// TypeScript template string.
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Another origin</title><link rel="icon" href="data:,"></head>
<body>
<pre data-testid="result">pending</pre>
<script>
  const params = new URLSearchParams(location.search);
  const base = params.get('api') + '/v1/users/' + encodeURIComponent(params.get('user')) + '/funding-sources';
  async function callApi(path, init) {
    try {
      const res = await fetch(base + path, init);
      const text = await res.text();
      return {
        status: res.status,
        requestId: res.headers.get('x-request-id'),
        replayed: res.headers.get('idempotent-replayed'),
        csp: res.headers.get('content-security-policy'),
        body: text ? JSON.parse(text) : null,
      };
    } catch (error) {
      return { blocked: error.name + ': ' + error.message };
    }
  }
  window.callApi = callApi;
  callApi('', { headers: { authorization: 'Bearer ' + params.get('token') } }).then((outcome) => {
    const result = document.querySelector('[data-testid="result"]');
    result.textContent = outcome.blocked ? 'blocked: ' + outcome.blocked : JSON.stringify(outcome);
    result.dataset.done = 'true';
  });
</script>
</body>
</html>`;

/** A static server on 127.0.0.1 and a free port: its own origin, serving PAGE at `/`. */
async function startPageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url ?? '').split('?')[0] === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const ALLOWED_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'x-request-id'];
const headerList = (value: string | null): string[] =>
  (value ?? '')
    .split(',')
    .map((part) => part.trim().toLowerCase())
    .filter(Boolean);

describeInBrowser('CORS: a page on another origin calls the API in Chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let page: Page;
  let pageErrors: string[];
  /** Console errors other than Chromium's line for each 4xx it loads; each test says which it expects. */
  let consoleErrors: string[];
  let userId: string;

  beforeAll(async () => {
    allowed = await startPageServer();
    other = await startPageServer();
    // Both pages are on 127.0.0.1, which the development default would let in: with a list given, only
    // the list counts.
    app = await startTestApp({ CORS_ALLOWED_ORIGINS: allowed.origin });
    browser = await chromium.launch({ executablePath: browserPath, args: CHROMIUM_FLAGS });

    ({ userId } = await registerUser(app));
    const linked = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    expect(linked.status).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
    await closeServer(allowed?.server);
    await closeServer(other?.server);
    await app?.close();
  });

  beforeEach(async () => {
    page = await browser.newPage();
    pageErrors = [];
    consoleErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        consoleErrors.push(message.text());
      }
    });
  });
  afterEach(async () => {
    await page.close();
    expect(pageErrors).toEqual([]);
  });

  /** Opens the page from `origin` as the test user and returns what it wrote once its fetch settled. */
  async function openPage(origin: string): Promise<string> {
    const query = new URLSearchParams({ api: app.url, user: userId, token: tokenFor(userId) });
    await page.goto(`${origin}/?${query.toString()}`);
    const result = page.locator('[data-testid="result"][data-done="true"]');
    await result.waitFor({ state: 'attached', timeout: 10_000 });
    return (await result.textContent()) ?? '';
  }

  /** Runs the page's fetch in the page, on its origin. */
  const callApi = (path: string, init: CallInit): Promise<Outcome> =>
    page.evaluate(([p, i]) => (globalThis as unknown as PageGlobal).callApi(p, i), [path, init] as const);

  const fundingSources = async () => {
    const res = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: tokenFor(userId) });
    expect(res.status).toBe(200);
    return res.body.data as Array<{ accountId: string; plaidOptions: unknown }>;
  };

  const corsBlocked = (origin: string): string[] =>
    consoleErrors.filter((text) => text.includes(`from origin '${origin}' has been blocked by CORS policy`));

  it('from an allowed origin: the funding sources, and x-request-id readable from JS', async () => {
    const expected = await fundingSources();
    expect(expected.length).toBeGreaterThan(0);

    const outcome = JSON.parse(await openPage(allowed.origin)) as Outcome;

    expect(outcome.status).toBe(200);
    expect(outcome.body.data).toHaveLength(expected.length);
    expect(outcome.body.data.map((s: { accountId: string }) => s.accountId)).toEqual(
      expected.map((s) => s.accountId),
    );
    expect(outcome.body.data[0].plaidOptions).toEqual(expected[0].plaidOptions);
    // Exposed: JS on the other origin reads it. Not exposed (and not CORS-safelisted): JS sees nothing.
    expect(outcome.requestId).toMatch(UUID_PATTERN);
    expect(outcome.csp).toBeNull();
    expect(consoleErrors).toEqual([]);
  });

  it('from an allowed origin: a preflighted POST (JSON, Idempotency-Key) reaches the API', async () => {
    await openPage(allowed.origin);
    const headers = {
      authorization: `Bearer ${tokenFor(userId)}`,
      'content-type': 'application/json',
      'idempotency-key': 'cors-sync-1',
      'x-request-id': 'cors-browser-1',
    };

    const sync = await callApi('/sync', { method: 'POST', headers, body: '{}' });
    expect(sync.blocked).toBeUndefined();
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ added: 0 });
    expect(sync.requestId).toMatch(UUID_PATTERN);

    // Idempotency-Key passes the preflight and reaches the handler; the replay header is exposed.
    const before = (await fundingSources()).length;
    const publicToken = sandboxPublicToken();
    const connect = (): Promise<Outcome> =>
      callApi('/plaid/connect', {
        method: 'POST',
        headers: { ...headers, 'idempotency-key': 'cors-connect-1' },
        body: JSON.stringify({ publicToken }),
      });
    const first = await connect();
    const second = await connect();
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.replayed).toBeNull();
    expect(second.replayed).toBe('true');
    expect(second.body).toEqual(first.body);
    expect((await fundingSources()).length).toBeGreaterThan(before);
    expect(consoleErrors).toEqual([]);
  });

  it('from an origin not on the list: the browser blocks the read and the preflighted write', async () => {
    expect(await openPage(other.origin)).toBe('blocked: TypeError: Failed to fetch');
    expect(corsBlocked(other.origin)).toHaveLength(1);

    // The preflight is refused, so the POST itself is never sent: nothing is linked.
    const before = await app.prisma.plaidItem.count({ where: { userId } });
    const connect = await callApi('/plaid/connect', {
      method: 'POST',
      headers: { authorization: `Bearer ${tokenFor(userId)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ publicToken: sandboxPublicToken() }),
    });
    expect(connect).toEqual({ blocked: 'TypeError: Failed to fetch' });
    expect(corsBlocked(other.origin)).toHaveLength(2);
    expect(await app.prisma.plaidItem.count({ where: { userId } })).toBe(before);
  });

  describe('over plain HTTP', () => {
    const preflight = (origin: string, method = 'GET') =>
      fetch(`${app.url}/v1/users/${userId}/funding-sources`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': method,
          'access-control-request-headers': 'authorization,content-type,idempotency-key,x-request-id',
        },
      });

    it('answers a preflight from the allowed origin with that origin, Vary: Origin and the headers', async () => {
      const res = await preflight(allowed.origin, 'POST');
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(allowed.origin);
      expect(headerList(res.headers.get('vary'))).toContain('origin');
      expect(headerList(res.headers.get('access-control-allow-headers'))).toEqual(
        expect.arrayContaining(ALLOWED_HEADERS),
      );
      expect(headerList(res.headers.get('access-control-allow-methods'))).toEqual(
        expect.arrayContaining(['get', 'post']),
      );
      expect(res.headers.get('access-control-max-age')).toBe('600');
      // Bearer tokens, never cookies.
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    });

    it('gives an origin not on the list no access-control-allow-origin, on a preflight or a GET', async () => {
      const res = await preflight(other.origin);
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
      expect(res.headers.get('access-control-allow-headers')).toBeNull();

      const get = await fetch(`${app.url}/v1/users/${userId}/funding-sources`, {
        headers: { origin: other.origin, authorization: `Bearer ${tokenFor(userId)}` },
      });
      expect(get.headers.get('access-control-allow-origin')).toBeNull();
      expect(headerList(get.headers.get('vary'))).toContain('origin');
    });

    it('tells the allowed origin, on the actual response, which headers it may read', async () => {
      const res = await fetch(`${app.url}/v1/users/${userId}/funding-sources`, {
        headers: { origin: allowed.origin, authorization: `Bearer ${tokenFor(userId)}` },
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(allowed.origin);
      expect(headerList(res.headers.get('access-control-expose-headers'))).toEqual(
        expect.arrayContaining(['x-request-id', 'retry-after', 'idempotent-replayed']),
      );
      expect(res.headers.get('x-request-id')).toMatch(UUID_PATTERN);
      expect(res.headers.get('content-security-policy')).not.toBeNull();
    });
  });
});
