// The development-only pieces behind the demo page, over plain HTTP (the browser spec clicks through
// them): the demo-token endpoint, the hosted link's API, and the pages' headers.
import { basicAuthorization } from '../src/bluum/bluum-endpoint';
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../src/config/app-config';
import { demoBluumAccount } from '../src/users/demo-account';
import { adminToken, TEST_JWT_SECRET, tokenFor } from './support/tokens';
import { registerUser, startTestApp, uniqueUserId, type TestApp } from './support/test-app';

const COMPLETION = 'https://app.example.com/banks/done';

describe('demo page, demo users and the hosted link (development)', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({
      NODE_ENV: 'development',
      LINK_COMPLETION_REDIRECT_ORIGINS: 'https://app.example.com',
    });
  });
  afterAll(() => app.close());

  describe('POST /sandbox/demo-users', () => {
    it('registers a new demo user and signs it a one-hour token for its own data only', async () => {
      const userId = uniqueUserId('demo');
      const res = await app.request('POST', '/sandbox/demo-users', { body: { userId } });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        userId,
        bluumAccountId: expect.stringMatching(/^sbx_[0-9a-f]{24}$/),
        accessToken: expect.any(String),
        tokenType: 'Bearer',
        expiresIn: 3600,
      });
      const token = res.body.accessToken as string;
      const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
        sub: string;
        roles: string[];
        exp: number;
      };
      expect(claims.sub).toBe(userId);
      expect(claims.roles).toEqual([]);
      expect(claims.exp - Date.now() / 1000).toBeGreaterThan(3500);
      expect(claims.exp - Date.now() / 1000).toBeLessThanOrEqual(3600);

      const own = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token });
      expect(own.status).toBe(200);
      expect(own.body.data).toEqual([]);
      const { userId: other } = await registerUser(app);
      expect((await app.request('GET', `/v1/users/${other}/funding-sources`, { token })).status).toBe(403);
      expect((await app.request('GET', '/v1/admin/funding-sources', { token })).status).toBe(403);
    });

    it('signs the same demo user again, still under its own sandbox account', async () => {
      const userId = uniqueUserId('demo');
      const first = await app.request('POST', '/sandbox/demo-users', { body: { userId } });
      const again = await app.request('POST', '/sandbox/demo-users', { body: { userId } });
      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.body.userId).toBe(userId);
      expect(again.body.bluumAccountId).toBe(first.body.bluumAccountId);
      const own = await app.request('GET', `/v1/users/${userId}/funding-sources`, {
        token: again.body.accessToken as string,
      });
      expect(own.status).toBe(200);
      // The id the page made up for a new user works the same way the next time.
      const made = await app.request('POST', '/sandbox/demo-users', { body: {} });
      const back = await app.request('POST', '/sandbox/demo-users', { body: { userId: made.body.userId } });
      expect(back.status).toBe(201);
      expect(back.body.bluumAccountId).toBe(made.body.bluumAccountId);
    });

    it('keeps a demo user on its sandbox account: PUT /v1/users answers 409 and moves nothing', async () => {
      const userId = uniqueUserId('demo');
      const demo = await app.request('POST', '/sandbox/demo-users', { body: { userId } });
      expect(demo.status).toBe(201);
      const put = await app.request('PUT', `/v1/users/${userId}`, {
        token: adminToken(),
        body: { bluumAccountId: 'acct_real_later' },
      });
      expect(put.status).toBe(409);
      expect(put.body.code).toBe('BLUUM_ACCOUNT_CONFLICT');
      const stored = await app.request('GET', `/v1/users/${userId}`, { token: adminToken() });
      expect(stored.body.bluumAccountId).toBe(demo.body.bluumAccountId);
    });

    // One row of DemoUserDto's table (src/sandbox/sandbox-routes.spec.ts has the rest).
    it('refuses an unknown field with 400 and registers nobody', async () => {
      const body = { userId: uniqueUserId('demo'), roles: ['admin'] };
      const res = await app.request('POST', '/sandbox/demo-users', { body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      // Only the user the body names could have been registered (other specs' users come and go
      // meanwhile, so the table's size says nothing).
      expect(await app.prisma.user.findUnique({ where: { id: String(body.userId) } })).toBeNull();
    });
  });

  describe('hosted link', () => {
    async function hostedLinkToken(
      completionRedirectUri?: string,
    ): Promise<{ userId: string; linkToken: string; url: URL }> {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: { enableHostedLink: true, ...(completionRedirectUri ? { completionRedirectUri } : {}) },
      });
      expect(res.status).toBe(201);
      return { userId, linkToken: res.body.linkToken, url: new URL(res.body.hostedLinkUrl as string) };
    }

    const complete = (linkToken: string, password = 'pass_good', institutionId = 'ins_109510') =>
      app.request('POST', '/sandbox/link/complete', {
        body: { link_token: linkToken, institution_id: institutionId, username: 'user_good', password },
      });

    it('opens a session that lists the sandbox institutions', async () => {
      const { linkToken, url } = await hostedLinkToken(COMPLETION);
      expect(url.pathname).toBe('/sandbox/link');
      expect(url.searchParams.get('token')).toBe(linkToken);
      const res = await app.request('POST', '/sandbox/link/session', { body: { link_token: linkToken } });
      expect(res.status).toBe(200);
      expect(res.body.institutions).toHaveLength(5);
      expect(res.body.institutions[0]).toEqual({ institution_id: 'ins_109508', name: 'First Platypus Bank' });
      expect(res.body.has_completion_redirect).toBe(true);
    });

    it('refuses wrong credentials, keeps the session open, then links the chosen bank', async () => {
      const { userId, linkToken } = await hostedLinkToken(COMPLETION);
      const wrong = await complete(linkToken, 'pass_bad');
      expect(wrong.status).toBe(400);
      expect(wrong.body).toEqual({
        error_code: 'INVALID_CREDENTIALS',
        error_message: expect.stringContaining('The credentials were not correct'),
      });

      const right = await complete(linkToken);
      expect(right.status).toBe(200);
      expect(right.body.public_token).toMatch(/^public-sandbox-/);
      const back = new URL(right.body.redirect_to as string);
      expect(`${back.origin}${back.pathname}`).toBe(COMPLETION);
      expect(Object.fromEntries(new URLSearchParams(back.hash.slice(1)))).toEqual({
        status: 'success',
        public_token: right.body.public_token,
      });

      const connected = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: tokenFor(userId),
        body: { publicToken: right.body.public_token },
      });
      expect(connected.status).toBe(201);
      expect(connected.body.item.institutionName).toBe('Tattersall Federal Credit Union');
      expect(connected.body.fundingSources.map((s: { accountName: string }) => s.accountName).sort()).toEqual(
        ['Plaid Checking', 'Plaid Money Market', 'Plaid Saving'],
      );

      // One session, one public token: the finished link cannot mint another.
      const again = await complete(linkToken);
      expect(again.status).toBe(400);
      expect(again.body.error_code).toBe('INVALID_LINK_TOKEN');
    });

    it('cannot be edited into an open redirect: the URI bound to the link token wins', async () => {
      const { linkToken, url } = await hostedLinkToken(COMPLETION);
      url.searchParams.set('completion_redirect_uri', 'https://evil.example.net/');
      const page = await fetch(url);
      expect(page.status).toBe(200);
      const done = await complete(linkToken);
      expect(new URL(done.body.redirect_to as string).origin).toBe('https://app.example.com');
    });
  });

  // One page; src/sandbox/sandbox-routes.spec.ts has every page and asset, and what the hosted link and
  // the sandbox's Bluum refuse.
  it('serves the demo page as text/html with a strict content security policy', async () => {
    const res = await fetch(`${app.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await res.text()).toContain('data-testid="link-bank"');
  });

  describe("with BLUUM_API_VERSION=investors (Bluum's investors generation)", () => {
    let investors: TestApp;
    const SANDBOX_BASIC = basicAuthorization(DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET);

    beforeAll(async () => {
      investors = await startTestApp({ NODE_ENV: 'development', BLUUM_API_VERSION: 'investors' });
    });
    afterAll(() => investors.close());

    it('registers demo users under an inv_ id, keeps them there, and links a bank for them', async () => {
      const userId = uniqueUserId('demo');
      const demo = await investors.request('POST', '/sandbox/demo-users', { body: { userId } });
      expect(demo.status).toBe(201);
      expect(demo.body.bluumAccountId).toMatch(/^inv_sbx_[0-9a-f]{24}$/);
      const token = demo.body.accessToken as string;
      const put = await investors.request('PUT', `/v1/users/${userId}`, {
        token: adminToken(),
        body: { bluumAccountId: 'inv_real_later' },
      });
      expect(put.body.code).toBe('BLUUM_ACCOUNT_CONFLICT');

      // The demo page's steps: a hosted link token, the sandbox bank, the public token exchanged.
      const link = await investors.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token,
        body: { enableHostedLink: true },
      });
      expect(link.status).toBe(201);
      const done = await investors.request('POST', '/sandbox/link/complete', {
        body: {
          link_token: link.body.linkToken,
          institution_id: 'ins_109508',
          username: 'user_good',
          password: 'pass_good',
        },
      });
      const connected = await investors.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token,
        body: { publicToken: done.body.public_token },
      });
      expect(connected.status).toBe(201);
      expect(connected.body.item.institutionName).toBe('First Platypus Bank');
      expect(connected.body.fundingSources).toHaveLength(2);

      // The sandbox's Bluum holds the bank under the investor, and lists it in the investors shape.
      const listed = await investors.request(
        'GET',
        `/sandbox/bluum/v1/investors/${demo.body.bluumAccountId}/funding-sources?type=plaid`,
        { headers: { authorization: SANDBOX_BASIC } },
      );
      expect(listed.status).toBe(200);
      expect(listed.body.data).toEqual([
        expect.objectContaining({ provider_id: connected.body.item.itemId, status: 'active', mask: '0000' }),
        expect.objectContaining({ provider_id: connected.body.item.itemId, status: 'active', mask: '1111' }),
      ]);
    });

    it("signs no token for a demo user registered for Bluum's accounts generation", async () => {
      const userId = uniqueUserId('demo');
      // As the sandbox registered it while the service spoke the accounts generation.
      const bluumAccountId = demoBluumAccount(TEST_JWT_SECRET, userId, 'accounts');
      await investors.prisma.user.create({ data: { id: userId, bluumAccountId } });
      const res = await investors.request('POST', '/sandbox/demo-users', { body: { userId } });
      expect(res.status).toBe(403);
      expect(res.body.message).toContain("Bluum's other API generation");
      expect(res.text).not.toContain('accessToken');
    });
  });
});
