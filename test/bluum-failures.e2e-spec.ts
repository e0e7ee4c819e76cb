// Bluum as the gateway sees it over real HTTP: the wire format we send, the replies we accept, and
// how Bluum's failures reach the client, with the database left as it was (every failure, one by one,
// is the gateway's spec).
import {
  closeAppWithFakeBluum,
  type FakeBluum,
  type Fault,
  startAppWithFakeBluum,
} from './support/fake-bluum';
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
        [
          'POST',
          `/v1/accounts/${bluumAccountId}/funding-sources/plaid/link-token`,
          BASIC,
          { enable_hosted_link: false },
        ],
        [
          'POST',
          `/v1/accounts/${bluumAccountId}/funding-sources/plaid/link-token`,
          BASIC,
          { enable_hosted_link: true },
        ],
      ]);
      expect(bluum.requests[0].headers['content-type']).toMatch(/^application\/json/);
    });

    it('calls connect with public_token in snake_case', async () => {
      const { userId, bluumAccountId } = await registerUser(app);
      const publicToken = sandboxPublicToken();
      expect((await api.as(userId).connect({ publicToken })).status).toBe(201);
      expect(bluum.requests).toHaveLength(1);
      expect(bluum.requests[0]).toMatchObject({
        method: 'POST',
        path: `/v1/accounts/${bluumAccountId}/funding-sources/plaid/connect`,
        body: { public_token: publicToken },
      });
    });
  });

  describe('what we accept', () => {
    it("stores Bluum's minimal connect reply (only the guaranteed fields) with nulls for the rest", async () => {
      const { userId } = await registerUser(app);
      bluum.nextConnectLinks({
        itemId: 'item_seed_minimal_1',
        institutionName: 'Chase Bank',
        accounts: [
          {
            accountId: 'acc_1234567890',
            accountName: 'Checking Account',
            accountType: 'depository',
            mask: '0000',
          },
        ],
      });
      const res = await api.as(userId).connect();
      expect(res.status).toBe(201);
      expect(res.body.item).toEqual({
        itemId: 'item_seed_minimal_1',
        institutionId: null,
        institutionName: 'Chase Bank',
        status: 'active',
      });
      expect(res.body.fundingSources).toEqual([
        expect.objectContaining({
          userId,
          status: 'active',
          institutionId: null,
          institutionName: 'Chase Bank',
          accountName: 'Checking Account',
          accountType: 'depository',
          accountSubtype: null,
          mask: '0000',
          itemId: 'item_seed_minimal_1',
          accountId: 'acc_1234567890',
          bluumFundingSourceId: null,
          plaidOptions: { item_id: 'item_seed_minimal_1', account_id: 'acc_1234567890' },
        }),
      ]);
    });

    it('takes snake_case fields and Bluum’s item status', async () => {
      const { userId } = await registerUser(app);
      bluum.nextConnectLinks({
        item_id: 'item_snake_1',
        institution_id: 'ins_4',
        institution_name: 'Wells Fargo',
        status: 'ERROR',
        accounts: [
          {
            account_id: 'acc_s1',
            account_name: 'Savings',
            account_type: 'depository',
            account_subtype: 'savings',
            mask: '1111',
          },
        ],
      } as never);
      const res = await api.as(userId).connect();
      expect(res.status).toBe(201);
      expect(res.body.item).toEqual({
        itemId: 'item_snake_1',
        institutionId: 'ins_4',
        institutionName: 'Wells Fargo',
        status: 'error',
      });
      expect(res.body.fundingSources[0]).toMatchObject({
        accountId: 'acc_s1',
        accountSubtype: 'savings',
        status: 'error',
      });
    });

    it('updates an item it already stores (same itemId) instead of duplicating it', async () => {
      const { userId } = await registerUser(app);
      const item = {
        id: 'bluum-fs-1',
        itemId: `item_relink_${userId}`,
        institutionId: 'ins_3',
        institutionName: 'Chase Bank',
        accounts: [
          {
            accountId: 'acc_a',
            accountName: 'Checking',
            accountType: 'depository',
            accountSubtype: 'checking',
            mask: '0000',
          },
        ],
      };
      bluum.nextConnectLinks(item);
      const first = await api.as(userId).connect();
      bluum.nextConnectLinks({
        ...item,
        institutionName: 'JPMorgan Chase',
        accounts: [
          { ...item.accounts[0], accountName: 'Total Checking' },
          {
            accountId: 'acc_b',
            accountName: 'Savings',
            accountType: 'depository',
            accountSubtype: 'savings',
            mask: '1111',
          },
        ],
      });
      const second = await api.as(userId).connect();
      expect([first.status, second.status]).toEqual([201, 201]);
      expect(await countStored(app, userId)).toEqual({ items: 1, accounts: 2 });
      const [a, b] = second.body.fundingSources;
      expect(a.id).toBe(first.body.fundingSources[0].id);
      expect(a).toMatchObject({ accountName: 'Total Checking', institutionName: 'JPMorgan Chase' });
      expect(b).toMatchObject({ accountName: 'Savings' });
    });

    it("refuses (409) to store an item that is already another user's", async () => {
      const owner = await registerUser(app);
      const other = await registerUser(app);
      const item = {
        itemId: `item_shared_${owner.userId}`,
        institutionName: 'Chase Bank',
        accounts: [{ accountId: 'acc_x', accountName: 'Checking', accountType: 'depository', mask: '0000' }],
      };
      bluum.nextConnectLinks(item);
      expect((await api.as(owner.userId).connect()).status).toBe(201);
      bluum.nextConnectLinks(item);
      const res = await api.as(other.userId).connect();
      expect(res.status).toBe(409);
      expect(res.error.code).toBe('ITEM_LINKED_TO_ANOTHER_USER');
      expect(await countStored(app, other.userId)).toEqual({ items: 0, accounts: 0 });
      expect(await countStored(app, owner.userId)).toEqual({ items: 1, accounts: 1 });
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

    it('link-token: a 400 from Bluum is its rejection of our request, not a token problem', async () => {
      const { userId } = await registerUser(app);
      bluum.failNext({
        status: 400,
        body: { status: 'error', code: 'BLUM-400-001', message: 'bad request' },
      });
      const res = await api.as(userId).linkToken();
      expect(res.status).toBe(502);
      expect(res.error.code).toBe('BLUUM_REQUEST_REJECTED');
    });

    it('link-token: retries stop when the BLUUM_TIMEOUT_MS budget is spent, long before Bluum stops failing', async () => {
      const { userId } = await registerUser(app);
      bluum.failNext({ status: 500 }, 500);
      const res = await api.as(userId).linkToken();
      expect(res.status).toBe(502);
      expect(res.error.code).toBe('BLUUM_UNAVAILABLE');
      expect(bluum.requests.length).toBeGreaterThan(1);
      expect(bluum.requests.length).toBeLessThan(50);
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
