// The seed's flow end to end on the built-in Bluum sandbox: link token, public-token exchange, stored
// funding sources that deposit services read.
import { adminToken, tokenFor } from './support/tokens';
import {
  registerUser,
  sandboxPublicToken,
  startTestApp,
  uniqueUserId,
  type TestApp,
} from './support/test-app';

const FUNDING_SOURCE_KEYS = [
  'accountId',
  'accountName',
  'accountSubtype',
  'accountType',
  'bluumFundingSourceId',
  'createdAt',
  'id',
  'institutionId',
  'institutionName',
  'itemId',
  'mask',
  'plaidOptions',
  'status',
  'updatedAt',
  'userId',
];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('bank linking on the built-in sandbox', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ LINK_COMPLETION_REDIRECT_ORIGINS: 'https://app.example.com' });
  });
  afterAll(() => app.close());

  const countStored = async (userId: string): Promise<{ items: number; accounts: number }> => ({
    items: await app.prisma.plaidItem.count({ where: { userId } }),
    accounts: await app.prisma.bankAccount.count({ where: { userId } }),
  });

  async function connect(userId: string, publicToken = sandboxPublicToken()) {
    return app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken },
    });
  }

  describe('link token', () => {
    it('returns a Plaid link token without a hosted URL by default', async () => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: {},
      });
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['hostedLinkUrl', 'linkToken']);
      expect(res.body.linkToken).toMatch(/^link-sandbox-/);
      expect(res.body.hostedLinkUrl).toBeNull();
    });

    it('works with no body at all', async () => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
      });
      expect(res.status).toBe(201);
      expect(res.body.linkToken).toMatch(/^link-sandbox-/);
    });

    it('returns a hosted link URL when asked', async () => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: { enableHostedLink: true },
      });
      expect(res.status).toBe(201);
      expect(res.body.hostedLinkUrl).toEqual(expect.stringContaining(res.body.linkToken));
      expect(() => new URL(res.body.hostedLinkUrl as string)).not.toThrow();
    });

    it('sends the hosted link back to an allow-listed completionRedirectUri', async () => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: { enableHostedLink: true, completionRedirectUri: 'https://app.example.com/banks/linked?x=1' },
      });
      expect(res.status).toBe(201);
      const hosted = new URL(res.body.hostedLinkUrl as string);
      // The URI travels to Bluum with the link token, not in the URL a person could edit.
      expect([...hosted.searchParams.keys()]).toEqual(['token']);
      const done = await app.request('POST', '/sandbox/link/complete', {
        body: {
          link_token: res.body.linkToken,
          institution_id: 'ins_109511',
          username: 'user_good',
          password: 'pass_good',
        },
      });
      expect(done.status).toBe(200);
      expect(done.body.redirect_to).toBe(
        `https://app.example.com/banks/linked?x=1#status=success&public_token=${done.body.public_token}`,
      );
    });

    it.each([
      ['another origin', { enableHostedLink: true, completionRedirectUri: 'https://evil.example.com/' }],
      [
        'a look-alike origin',
        { enableHostedLink: true, completionRedirectUri: 'https://app.example.com.evil.io/' },
      ],
      [
        'the allowed host on another port',
        { enableHostedLink: true, completionRedirectUri: 'https://app.example.com:8443/' },
      ],
      ['no hosted link', { completionRedirectUri: 'https://app.example.com/' }],
      ['a javascript: URL', { enableHostedLink: true, completionRedirectUri: 'javascript:alert(1)' }],
      ['a relative URL', { enableHostedLink: true, completionRedirectUri: '/banks' }],
    ])('refuses a completionRedirectUri with %s (no open redirect)', async (_name, body) => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body,
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'completionRedirectUri' })]);
    });

    it('rejects a non-boolean enableHostedLink', async () => {
      const { userId } = await registerUser(app);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: { enableHostedLink: 'yes' },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.details).toEqual([expect.objectContaining({ field: 'enableHostedLink' })]);
    });

    it('answers 404 USER_NOT_FOUND for an unregistered user', async () => {
      const userId = uniqueUserId();
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
        token: tokenFor(userId),
        body: {},
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('USER_NOT_FOUND');
    });
  });

  describe('connect', () => {
    it('exchanges the public token and stores the item with every account, in the contract shape', async () => {
      const { userId } = await registerUser(app);
      const res = await connect(userId);

      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['fundingSources', 'item']);
      expect(Object.keys(res.body.item).sort()).toEqual([
        'institutionId',
        'institutionName',
        'itemId',
        'status',
      ]);
      expect(res.body.item).toMatchObject({ itemId: expect.stringMatching(/^item_/), status: 'active' });
      const sources = res.body.fundingSources as Record<string, unknown>[];
      expect(sources.length).toBeGreaterThanOrEqual(1);
      expect(sources.length).toBeLessThanOrEqual(3);
      for (const source of sources) {
        expect(Object.keys(source).sort()).toEqual(FUNDING_SOURCE_KEYS);
        expect(source).toMatchObject({
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          userId,
          status: 'active',
          itemId: res.body.item.itemId,
          institutionId: res.body.item.institutionId,
          institutionName: res.body.item.institutionName,
          accountType: 'depository',
          mask: expect.stringMatching(/^\d{4}$/),
          createdAt: expect.stringMatching(ISO_DATE),
          updatedAt: expect.stringMatching(ISO_DATE),
        });
        expect(source.plaidOptions).toEqual({ item_id: source.itemId, account_id: source.accountId });
      }
      expect(await countStored(userId)).toEqual({ items: 1, accounts: sources.length });
    });

    it('answers the same public token sent again with the stored response and 200, storing nothing more', async () => {
      const { userId } = await registerUser(app);
      const publicToken = sandboxPublicToken();
      const first = await connect(userId, publicToken);
      expect(first.status).toBe(201);
      const before = await countStored(userId);

      const again = await connect(userId, publicToken);
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(await countStored(userId)).toEqual(before);
    });

    it("answers another user's already exchanged public token with 422, revealing nothing", async () => {
      const owner = await registerUser(app);
      const other = await registerUser(app);
      const publicToken = sandboxPublicToken();
      const first = await connect(owner.userId, publicToken);
      expect(first.status).toBe(201);

      const res = await connect(other.userId, publicToken);
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('PUBLIC_TOKEN_REJECTED');
      expect(res.text).not.toContain(first.body.item.itemId);
      expect(await countStored(other.userId)).toEqual({ items: 0, accounts: 0 });
    });

    it('refuses an expired public token with 422 and stores nothing', async () => {
      const { userId } = await registerUser(app);
      const res = await connect(userId, 'public-sandbox-expired-0123456789');
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('PUBLIC_TOKEN_REJECTED');
      expect(await countStored(userId)).toEqual({ items: 0, accounts: 0 });
    });

    it('validates the body before calling Bluum', async () => {
      const { userId } = await registerUser(app);
      for (const body of [
        {},
        { publicToken: 42 },
        { publicToken: 'not-a-public-token' },
        { publicToken: 'public-x', x: 1 },
      ]) {
        const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
          token: tokenFor(userId),
          body,
        });
        expect(res.status).toBe(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
        expect(res.body.details.length).toBeGreaterThan(0);
      }
      expect(await countStored(userId)).toEqual({ items: 0, accounts: 0 });
    });

    it('answers 404 USER_NOT_FOUND for an unregistered user', async () => {
      const res = await app.request('POST', `/v1/users/${uniqueUserId()}/funding-sources/plaid/connect`, {
        token: adminToken(),
        body: { publicToken: sandboxPublicToken() },
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('USER_NOT_FOUND');
    });
  });

  describe('reading funding sources', () => {
    it('lists every linked bank newest first, and gets each one by id', async () => {
      const { userId } = await registerUser(app);
      const first = await connect(userId);
      const second = await connect(userId);
      expect([first.status, second.status]).toEqual([201, 201]);

      const list = await app.request('GET', `/v1/users/${userId}/funding-sources`, {
        token: tokenFor(userId),
      });
      expect(list.status).toBe(200);
      expect(Object.keys(list.body)).toEqual(['data']);
      const ids = (list.body.data as { id: string }[]).map((s) => s.id);
      const firstIds = (first.body.fundingSources as { id: string }[]).map((s) => s.id);
      const secondIds = (second.body.fundingSources as { id: string }[]).map((s) => s.id);
      expect(ids).toHaveLength(firstIds.length + secondIds.length);
      // The second bank's accounts come before the first's.
      expect(new Set(ids.slice(0, secondIds.length))).toEqual(new Set(secondIds));
      expect(new Set(ids.slice(secondIds.length))).toEqual(new Set(firstIds));
      const createdAt = (list.body.data as { createdAt: string }[]).map((s) => s.createdAt);
      expect([...createdAt].sort().reverse()).toEqual(createdAt);

      for (const source of first.body.fundingSources as { id: string }[]) {
        const one = await app.request('GET', `/v1/users/${userId}/funding-sources/${source.id}`, {
          token: tokenFor(userId),
        });
        expect(one.status).toBe(200);
        expect(one.body).toEqual(source);
      }
    });

    it('filters by status: default hides disconnected, all shows every one', async () => {
      const { userId } = await registerUser(app);
      const linked = await connect(userId);
      const [disconnected, ...others] = linked.body.fundingSources as { id: string }[];
      await app.prisma.bankAccount.update({
        where: { id: disconnected.id },
        data: { status: 'disconnected' },
      });
      const path = `/v1/users/${userId}/funding-sources`;
      const ids = async (query: string): Promise<string[]> => {
        const res = await app.request('GET', `${path}${query}`, { token: tokenFor(userId) });
        expect(res.status).toBe(200);
        return (res.body.data as { id: string }[]).map((s) => s.id).sort();
      };
      const all = (linked.body.fundingSources as { id: string }[]).map((s) => s.id).sort();
      expect(await ids('')).toEqual(others.map((s) => s.id).sort());
      expect(await ids('?status=active')).toEqual(others.map((s) => s.id).sort());
      expect(await ids('?status=disconnected')).toEqual([disconnected.id]);
      expect(await ids('?status=error')).toEqual([]);
      expect(await ids('?status=all')).toEqual(all);
    });

    it('returns an empty list for a registered user with no bank, and 404 for an unknown user', async () => {
      const { userId } = await registerUser(app);
      const empty = await app.request('GET', `/v1/users/${userId}/funding-sources`, {
        token: tokenFor(userId),
      });
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ data: [] });

      const unknown = uniqueUserId();
      const res = await app.request('GET', `/v1/users/${unknown}/funding-sources`, {
        token: tokenFor(unknown),
      });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('USER_NOT_FOUND');
    });

    it("answers 404 for another user's funding source id, never its data", async () => {
      const owner = await registerUser(app);
      const other = await registerUser(app);
      const linked = await connect(owner.userId);
      const sourceId = (linked.body.fundingSources as { id: string }[])[0].id;

      for (const token of [tokenFor(other.userId), adminToken()]) {
        const res = await app.request('GET', `/v1/users/${other.userId}/funding-sources/${sourceId}`, {
          token,
        });
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('FUNDING_SOURCE_NOT_FOUND');
        expect(res.text).not.toContain(owner.userId);
      }
      const missing = await app.request(
        'GET',
        `/v1/users/${owner.userId}/funding-sources/00000000-0000-4000-8000-000000000000`,
        { token: tokenFor(owner.userId) },
      );
      expect(missing.status).toBe(404);
      expect(missing.body.code).toBe('FUNDING_SOURCE_NOT_FOUND');
    });

    it('lets a deposit service with scope funding-sources:read read, but not link', async () => {
      const { userId } = await registerUser(app);
      const linked = await connect(userId);
      const depositService = tokenFor('svc-deposits', { scope: 'funding-sources:read' });

      const list = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: depositService });
      expect(list.status).toBe(200);
      expect((list.body.data as unknown[]).length).toBe((linked.body.fundingSources as unknown[]).length);
      const one = (list.body.data as { id: string; plaidOptions: unknown }[])[0];
      const get = await app.request('GET', `/v1/users/${userId}/funding-sources/${one.id}`, {
        token: depositService,
      });
      expect(get.status).toBe(200);
      expect(get.body.plaidOptions).toEqual(one.plaidOptions);

      for (const route of ['plaid/link-token', 'plaid/connect']) {
        const res = await app.request('POST', `/v1/users/${userId}/funding-sources/${route}`, {
          token: depositService,
          body: route === 'plaid/connect' ? { publicToken: sandboxPublicToken() } : {},
        });
        expect(res.status).toBe(403);
        expect(res.body.code).toBe('FORBIDDEN');
      }
    });
  });

  describe('disconnect with the sandbox', () => {
    it('disconnects every account of an item, the item at the sandbox with the last', async () => {
      const { userId } = await registerUser(app);
      const linked = await connect(userId);
      for (const source of linked.body.fundingSources as { id: string }[]) {
        const res = await app.request('DELETE', `/v1/users/${userId}/funding-sources/${source.id}`, {
          token: tokenFor(userId),
        });
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('disconnected');
      }
      expect((await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } })).status).toBe(
        'disconnected',
      );
      const sync = await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, {
        token: tokenFor(userId),
      });
      // The sandbox now lists the item as DISCONNECTED too: nothing changes.
      expect(sync.body).toMatchObject({ added: 0, updated: 0 });
    });
  });

  describe('sync with the sandbox', () => {
    it('finds nothing to add or change after ordinary connects', async () => {
      const { userId } = await registerUser(app);
      const a = await connect(userId);
      const b = await connect(userId);
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, {
        token: tokenFor(userId),
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ added: 0, updated: 0 });
      const expected = [...a.body.fundingSources, ...b.body.fundingSources]
        .map((s: { id: string }) => s.id)
        .sort();
      expect((res.body.data as { id: string }[]).map((s) => s.id).sort()).toEqual(expected);
    });
  });

  describe("the user's Bluum account", () => {
    it('cannot change once a bank is linked (409), and can before', async () => {
      const { userId } = await registerUser(app);
      const moved = await app.request('PUT', `/v1/users/${userId}`, {
        token: adminToken(),
        body: { bluumAccountId: 'acct_moved_before_link' },
      });
      expect(moved.status).toBe(200);
      expect(moved.body.bluumAccountId).toBe('acct_moved_before_link');

      expect((await connect(userId)).status).toBe(201);
      const conflict = await app.request('PUT', `/v1/users/${userId}`, {
        token: adminToken(),
        body: { bluumAccountId: 'acct_moved_after_link' },
      });
      expect(conflict.status).toBe(409);
      expect(conflict.body.code).toBe('BLUUM_ACCOUNT_CONFLICT');
      const stored = await app.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      expect(stored.bluumAccountId).toBe('acct_moved_before_link');

      const same = await app.request('PUT', `/v1/users/${userId}`, {
        token: adminToken(),
        body: { bluumAccountId: 'acct_moved_before_link' },
      });
      expect(same.status).toBe(200);
    });
  });
});
