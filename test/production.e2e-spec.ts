// NODE_ENV=production: no sandbox, no development routes, real secrets required. The database here is
// deliberately unreachable, which is also how readiness and an unexpected 5xx are checked.
import { randomBytes } from 'node:crypto';
import { basicAuthorization } from '../src/bluum/bluum-endpoint';
import { signHs256 } from '../src/auth/jwt';
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../src/config/app-config';
import { startTestApp, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

const METRICS_TOKEN = randomBytes(24).toString('base64url');

describe('production mode', () => {
  let app: TestApp;
  const secret = randomBytes(32).toString('base64url');
  // Each service's own key: a deposit service that reads, and an operations console that is an admin.
  const depositsKey = randomBytes(32).toString('base64url');
  const opsKey = randomBytes(32).toString('base64url');
  const serviceToken = (kid: string, key: string, claims: object = {}): string => {
    const iat = Math.floor(Date.now() / 1000);
    return signHs256({ iat, exp: iat + 300, ...claims }, key, { kid });
  };

  beforeAll(async () => {
    app = await startTestApp({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unreachable',
      BLUUM_BASE_URL: 'https://bluum.invalid',
      BLUUM_API_KEY: 'prod_key',
      BLUUM_API_SECRET: 'prod_secret',
      AUTH_JWT_SECRET: secret,
      AUTH_SERVICE_KEYS: JSON.stringify([
        { kid: 'deposits-1', client: 'deposit-svc', secret: depositsKey, scopes: ['funding-sources:read'] },
        { kid: 'ops-1', client: 'ops-console', secret: opsKey, scopes: [], admin: true },
      ]),
      METRICS_TOKEN: METRICS_TOKEN,
    });
  });
  afterAll(() => app.close());

  it('serves /metrics only to Authorization: Bearer <METRICS_TOKEN>', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token-0123456789',
      METRICS_TOKEN,
      `Basic ${METRICS_TOKEN}`,
    ]) {
      const res = await app.request('GET', '/metrics', authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('UNAUTHENTICATED');
      expect(res.text).not.toContain('process_cpu');
    }
    const scraped = await app.request('GET', '/metrics', { token: METRICS_TOKEN });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('process_cpu_user_seconds_total');
  });

  it('serves no docs without DOCS_PUBLIC=true: they would list the admin routes to anyone', async () => {
    for (const path of ['/docs', '/docs-json', '/docs-yaml', '/docs/']) {
      const res = await app.request('GET', path);
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });

  it('serves no sandbox', async () => {
    for (const path of [
      '/',
      '/sandbox/bluum/v1/accounts/a/funding-sources',
      '/sandbox/link',
      '/sandbox/assets/demo.js',
    ]) {
      const res = await app.request('GET', path);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('ROUTE_NOT_FOUND');
    }
    const post = await app.request('POST', '/sandbox/bluum/v1/accounts/a/funding-sources/plaid/connect', {
      body: { public_token: 'public-sandbox-abcdefgh' },
      headers: { authorization: basicAuthorization(DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET) },
    });
    expect(post.status).toBe(404);
    // No control over the sandbox's items, even for the user the path names.
    const itemStatus = await app.request('POST', '/sandbox/users/u1/items/item_1/status', {
      token: tokenFor('u1', { secret }),
      body: { status: 'ERROR' },
    });
    expect(itemStatus.status).toBe(404);
    expect(itemStatus.body.code).toBe('ROUTE_NOT_FOUND');
    // No demo tokens: production identities come from the identity provider only.
    const demo = await app.request('POST', '/sandbox/demo-users', { body: { userId: 'u1' } });
    expect(demo.status).toBe(404);
    expect(demo.body.code).toBe('ROUTE_NOT_FOUND');
  });

  // The database is unreachable: 503 DATABASE_UNAVAILABLE means the token got past every access check.
  const PAST_THE_GUARD = 503;

  it('takes a token signed with AUTH_JWT_SECRET as its sub alone: no admin, no scope, whatever it claims', async () => {
    const forgedAdmin = tokenFor('deposit-svc', { roles: ['admin'], secret });
    for (const path of [
      '/v1/admin/funding-sources',
      '/v1/users/bob/funding-sources',
      '/v1/admin/users/bob/events',
    ]) {
      const res = await app.request('GET', path, { token: forgedAdmin });
      expect({ path, status: res.status, code: res.body.code }).toEqual({
        path,
        status: 403,
        code: 'FORBIDDEN',
      });
    }
    const scoped = tokenFor('deposit-svc', { scope: 'funding-sources:read users:write', secret });
    expect((await app.request('GET', '/v1/users/bob/funding-sources', { token: scoped })).status).toBe(403);
    expect(
      (await app.request('PUT', '/v1/users/bob', { token: scoped, body: { bluumAccountId: 'acct_x' } }))
        .status,
    ).toBe(403);
    // Its own data it may still reach.
    expect(
      (await app.request('GET', '/v1/users/bob/funding-sources', { token: tokenFor('bob', { secret }) }))
        .status,
    ).toBe(PAST_THE_GUARD);
  });

  it("gives a service key's token its entry's scopes and admin flag, and nothing else", async () => {
    const deposits = serviceToken('deposits-1', depositsKey, { sub: 'bob', roles: ['admin'] });
    expect((await app.request('GET', '/v1/users/bob/funding-sources', { token: deposits })).status).toBe(
      PAST_THE_GUARD,
    );
    for (const [method, path] of [
      ['GET', '/v1/admin/funding-sources'],
      ['PUT', '/v1/users/bob'],
      ['POST', '/v1/users/bob/funding-sources/plaid/link-token'],
    ] as const) {
      const res = await app.request(method, path, {
        token: deposits,
        body: method === 'GET' ? undefined : {},
      });
      expect({ path, status: res.status }).toEqual({ path, status: 403 });
    }
    const ops = serviceToken('ops-1', opsKey);
    expect((await app.request('GET', '/v1/admin/funding-sources', { token: ops })).status).toBe(
      PAST_THE_GUARD,
    );
    // A kid with another service's secret is no one's.
    expect(
      (await app.request('GET', '/v1/admin/funding-sources', { token: serviceToken('ops-1', depositsKey) }))
        .status,
    ).toBe(401);
  });

  it('refuses a shared-key token with no iat, issued in the future, or valid for more than a day', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const claims of [
      { sub: 'bob', exp: now + 300 },
      { sub: 'bob', iat: now + 365 * 86_400, exp: now + 365 * 86_400 + 300 },
      { sub: 'bob', iat: now, exp: now + 10 * 365 * 86_400 },
    ]) {
      const res = await app.request('GET', '/v1/users/bob/funding-sources', {
        token: signHs256(claims, secret),
      });
      expect({ claims, status: res.status }).toEqual({ claims, status: 401 });
    }
  });

  it('refuses tokens signed with the development secret', async () => {
    const res = await app.request('GET', '/v1/users/u1', {
      token: tokenFor('u1', { roles: ['admin'], secret: 'dev-only-secret-do-not-use-in-production' }),
    });
    expect(res.status).toBe(401);
  });

  it('is live but not ready while the database is unreachable', async () => {
    expect((await app.request('GET', '/health/live')).status).toBe(200);
    const ready = await app.request('GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: 'error', error: { database: { status: 'down' } } });
    expect(ready.text).not.toContain('127.0.0.1:1');
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After, and no stack, SQL or connection detail, while the database is unreachable', async () => {
    const res = await app.request('GET', '/v1/users/u1/funding-sources', {
      token: tokenFor('u1', { secret }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      code: 'DATABASE_UNAVAILABLE',
      message: 'The database is not available right now. Try again shortly.',
      requestId: expect.any(String),
    });
    expect(res.text).not.toContain('127.0.0.1');
  });
});

describe('production mode without METRICS_TOKEN', () => {
  const start = (env: Record<string, string>) =>
    startTestApp({
      NODE_ENV: 'production',
      DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unreachable',
      BLUUM_BASE_URL: 'https://bluum.invalid',
      BLUUM_API_KEY: 'prod_key',
      BLUUM_API_SECRET: 'prod_secret',
      AUTH_JWT_SECRET: randomBytes(32).toString('base64url'),
      ...env,
    });

  it('closes /metrics to everyone, unless METRICS_PUBLIC=true; serves the docs only with DOCS_PUBLIC=true', async () => {
    const closed = await start({});
    try {
      const res = await closed.request('GET', '/metrics');
      expect(res.status).toBe(401);
      expect(res.text).not.toContain('process_cpu');
    } finally {
      await closed.close();
    }
    const open = await start({ METRICS_PUBLIC: 'true', DOCS_PUBLIC: 'true' });
    try {
      const scraped = await open.request('GET', '/metrics');
      expect(scraped.status).toBe(200);
      expect(scraped.text).toContain('process_cpu_user_seconds_total');
      expect((await open.request('GET', '/docs-json')).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});
