// What browsers are told: CORS for the allowed frontends only, headers that keep bank data out of
// caches, sniffers and frames, and Swagger UI that still works (or is off with DOCS_ENABLED=false).
// Every origin CORS refuses or answers, and each path's header set, is src/common/browser-edges.spec.ts;
// here a preflight and helmet's whole set show the app's own wiring.
import helmet from 'helmet';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { HELMET_OPTIONS } from '../src/common/browser-edges';
import { startTestApp, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

const FRONTEND = 'https://app.example.com';

// Every header helmet 8 sets with HELMET_OPTIONS, byte for byte: what @fastify/helmet sent on every
// answer, and what the precomputed set must still send.
const HELMET_HEADERS = {
  'content-security-policy':
    "default-src 'self';script-src 'self';style-src 'self' 'unsafe-inline';img-src 'self' data:;frame-ancestors 'none';base-uri 'none';form-action 'self';object-src 'none'",
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-frame-options': 'SAMEORIGIN',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};
const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

describe('browser edges', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ CORS_ALLOWED_ORIGINS: `${FRONTEND},https://ops.example.com` });
  });
  afterAll(() => app.close());

  const preflight = (origin: string) =>
    app.request('OPTIONS', '/v1/users/alice/funding-sources', {
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,idempotency-key',
      },
    });

  it('answers a preflight from an allowed origin with 204, the methods and headers it may use', async () => {
    const res = await preflight(FRONTEND);
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(FRONTEND);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE');
    expect(res.headers.get('access-control-allow-headers')).toBe(
      'authorization, content-type, idempotency-key, x-request-id',
    );
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it("sends helmet's whole header set, byte for byte, on every answer; /v1 with its own CSP and no-store", async () => {
    // helmet itself, run the way @fastify/helmet ran it (on a real response, per request), is the source.
    const response = new ServerResponse(new IncomingMessage(new Socket()));
    helmet(HELMET_OPTIONS)(response.req, response, (err?: unknown) => {
      if (err) throw err instanceof Error ? err : new Error('helmet refused its options');
    });
    expect(response.getHeaders()).toEqual(HELMET_HEADERS);

    const answers = {
      '/health/live': await app.request('GET', '/health/live'),
      '/docs': await app.request('GET', '/docs'),
      '/docs-json': await app.request('GET', '/docs-json'),
      '/v1 200': await app.request('GET', '/v1/users/alice/funding-sources', { token: tokenFor('alice') }),
      // Routed by what the URL means, not how it is spelled; an unrouted path gets the strict set too.
      '/v1 200 spelled /%761': await app.request('GET', '/%761/users/alice/funding-sources', {
        token: tokenFor('alice'),
      }),
      '/v1 set for an unknown route': await app.request('GET', '/no-such-route'),
      '/v1 401': await app.request('GET', '/v1/users/alice/funding-sources'),
      '/v1 415': await app.request('POST', '/v1/users/alice/funding-sources/plaid/connect', {
        token: tokenFor('alice'),
        rawBody: 'x',
        headers: { 'content-type': 'text/plain' },
      }),
    };
    for (const [name, res] of Object.entries(answers)) {
      const api = name.startsWith('/v1');
      const expected = { ...HELMET_HEADERS, ...(api ? { 'content-security-policy': API_CSP } : {}) };
      const sent = Object.fromEntries(
        Object.keys(expected).map((header) => [header, res.headers.get(header)]),
      );
      expect({ name, sent }).toEqual({ name, sent: expected });
      if (api)
        expect({ name, cacheControl: res.headers.get('cache-control') }).toEqual({
          name,
          cacheControl: 'no-store',
        });
    }
  });

  it('keeps Swagger UI working under its own CSP: its page, scripts and document', async () => {
    const page = await app.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const scripts = [...page.text.matchAll(/<script[^>]*src="([^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    // No inline script: the CSP would block it.
    expect(page.text).not.toMatch(/<script(?![^>]*src=)[^>]*>\s*\S/);
    for (const src of scripts) {
      const path = new URL(src, `${app.url}/docs`).pathname;
      expect((await app.request('GET', path)).status).toBe(200);
    }
    expect((await app.request('GET', '/docs-json')).status).toBe(200);
  });
});

describe('DOCS_ENABLED=false', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ DOCS_ENABLED: 'false' });
  });
  afterAll(() => app.close());

  it('serves no Swagger UI and no OpenAPI document', async () => {
    for (const path of ['/docs', '/docs-json']) {
      const res = await app.request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    }
    expect((await app.request('GET', '/health/live')).status).toBe(200);
  });
});
