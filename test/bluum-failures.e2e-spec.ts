// Bluum as the gateway sees it over real HTTP: the credentials and body we send, and how Bluum's
// failures reach the client, with the database left as it was. Every call's wire format, every reply
// we accept and every failure, one by one (retries within the budget included), are the gateway's spec
// (src/bluum/http-bluum.gateway.spec.ts); how a reply is stored (nulls, snake_case, an item linked
// again, another user's item) is test/medium/funding-sources.medium-spec.ts's.
import {
  closeAppWithFakeBluum,
  type FakeBluum,
  type Fault,
  startAppWithFakeBluum,
} from './support/fake-bluum';
import { bluumPath } from './support/generation';
import { type Api, testApi } from './support/api';
import { countStored, registerUser, sandboxPublicToken, type TestApp } from './support/test-app';

const API_KEY = 'fake_key_9f8e7d';
const API_SECRET = 'fake_secret_6c5b4a';
const BASIC = `Basic ${Buffer.from(`${API_KEY}:${API_SECRET}`).toString('base64')}`;
const TIMEOUT_MS = 400;

describe('Bluum over HTTP', () => {
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    // The fake's URL has no /v1 (startAppWithFakeBluum sets it as BLUUM_BASE_URL): the gateway adds it.
    ({ app, bluum } = await startAppWithFakeBluum({
      BLUUM_API_KEY: API_KEY,
      BLUUM_API_SECRET: API_SECRET,
      BLUUM_TIMEOUT_MS: String(TIMEOUT_MS),
    }));
    api = testApi(app);
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  describe('what we send', () => {
    it('calls link-token with Basic auth, the account in the path and enable_hosted_link always set', async () => {
      const { userId, bluumAccountId } = await registerUser(app);
      expect((await api.as(userId).linkToken()).status).toBe(201);
      await api.as(userId).linkToken({ enableHostedLink: true });
      expect(bluum.requests.map((r) => [r.method, r.path, r.headers.authorization, r.body])).toEqual([
        ['POST', bluumPath(bluumAccountId, '/plaid/link-token'), BASIC, { enable_hosted_link: false }],
        ['POST', bluumPath(bluumAccountId, '/plaid/link-token'), BASIC, { enable_hosted_link: true }],
      ]);
      expect(bluum.requests[0].headers['content-type']).toMatch(/^application\/json/);
    });
  });

  describe('failures: the contract’s answer, and nothing stored', () => {
    // Every failure Bluum can answer is a row of src/bluum/http-bluum.gateway.spec.ts (over real HTTP, for
    // connect and for link-token with its retries); here two show the contract's answer reaching the
    // client with nothing stored and no secret in the body: a rejection, and a transport failure.
    const cases: [string, Fault, number, string][] = [
      [
        '400 on connect (bad, used or expired token)',
        { status: 400, body: { status: 'error', code: 'BLUM-400-002', message: 'Invalid public token' } },
        422,
        'PUBLIC_TOKEN_REJECTED',
      ],
      ['a reset connection', { reset: true }, 502, 'BLUUM_UNAVAILABLE'],
    ];

    it.each(cases)('connect, Bluum answers %s', async (_name, fault, status, code) => {
      const { userId } = await registerUser(app);
      const publicToken = sandboxPublicToken();
      bluum.failNext(fault);
      const res = await api.as(userId).connect({ publicToken });
      expect(res.status).toBe(status);
      expect(res.error).toMatchObject({ statusCode: status, code, requestId: expect.any(String) });
      expect(await countStored(app, userId)).toEqual({ items: 0, accounts: 0 });
      // Neither our credentials nor the user's token ever reach an error body.
      for (const secret of [publicToken, API_KEY, API_SECRET, BASIC.slice(6)])
        expect(res.text).not.toContain(secret);
    });

    it('gives up at BLUUM_TIMEOUT_MS rather than waiting for a slow Bluum', async () => {
      const { userId } = await registerUser(app);
      const delayMs = 8_000;
      bluum.failNext({ delayMs });
      const started = Date.now();
      const res = await api.as(userId).linkToken();
      expect(res.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(delayMs / 2);
    });
  });
});
