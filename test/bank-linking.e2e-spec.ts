// The bank-linking flow end to end on the built-in Bluum sandbox: link token, public-token exchange, stored
// funding sources that deposit services read.
import { type StatusFilter } from '../src/funding-sources/dto/list-funding-sources.query';
import { type Api, testApi } from './support/api';
import { bluumAccountIdFor, expectTransferFields } from './support/generation';
import {
  countStored,
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
  'transferOptions',
  'updatedAt',
  'userId',
];
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('bank linking on the built-in sandbox', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp({ LINK_COMPLETION_REDIRECT_ORIGINS: 'https://app.example.com' });
    api = testApi(app);
  });
  afterAll(() => app.close());

  describe('link token', () => {
    it('returns a Plaid link token without a hosted URL by default', async () => {
      const { userId } = await registerUser(app);
      const res = await api.as(userId).linkToken();
      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['hostedLinkUrl', 'linkToken']);
      expect(res.body.linkToken).toMatch(/^link-sandbox-/);
      expect(res.body.hostedLinkUrl).toBeNull();
    });

    it('sends the hosted link back to an allow-listed completionRedirectUri', async () => {
      const { userId } = await registerUser(app);
      const res = await api.as(userId).linkToken({
        enableHostedLink: true,
        completionRedirectUri: 'https://app.example.com/banks/linked?x=1',
      });
      expect(res.status).toBe(201);
      const hosted = new URL(res.body.hostedLinkUrl!);
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

    // Every URL the allow-list refuses (and one without the hosted link) is a row of
    // src/funding-sources/completion-redirect.spec.ts, and the body's shape one of
    // src/funding-sources/funding-sources.controller.spec.ts; over the whole app, another origin shows
    // the 400 naming the field.
    it('refuses a completionRedirectUri with another origin (no open redirect)', async () => {
      const { userId } = await registerUser(app);
      const res = await api
        .as(userId)
        .linkToken({ enableHostedLink: true, completionRedirectUri: 'https://evil.example.com/' });
      expect(res.status).toBe(400);
      expect(res.error.code).toBe('VALIDATION_FAILED');
      expect(res.error.details).toEqual([expect.objectContaining({ field: 'completionRedirectUri' })]);
    });

    it('answers 404 USER_NOT_FOUND for an unregistered user', async () => {
      const userId = uniqueUserId();
      const res = await api.as(userId).linkToken();
      expect(res.status).toBe(404);
      expect(res.error.code).toBe('USER_NOT_FOUND');
    });
  });

  describe('connect', () => {
    it('exchanges the public token and stores the item with every account, in the contract shape', async () => {
      const { userId } = await registerUser(app);
      const res = await api.as(userId).connect();

      expect(res.status).toBe(201);
      expect(Object.keys(res.body).sort()).toEqual(['fundingSources', 'item']);
      expect(Object.keys(res.body.item).sort()).toEqual([
        'institutionId',
        'institutionName',
        'itemId',
        'status',
      ]);
      expect(res.body.item).toMatchObject({ itemId: expect.stringMatching(/^item_/), status: 'active' });
      const sources = res.body.fundingSources;
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
        // What a deposit to Bluum merges in: plaid_options, or the account's own funding_source_id.
        expectTransferFields(source);
      }
      expect(await countStored(app, userId)).toEqual({ items: 1, accounts: sources.length });
    });

    it("answers another user's already exchanged public token with 422, revealing nothing", async () => {
      const owner = await registerUser(app);
      const other = await registerUser(app);
      const publicToken = sandboxPublicToken();
      const first = await api.as(owner.userId).connect({ publicToken });
      expect(first.status).toBe(201);

      const res = await api.as(other.userId).connect({ publicToken });
      expect(res.status).toBe(422);
      expect(res.error.code).toBe('PUBLIC_TOKEN_REJECTED');
      expect(res.text).not.toContain(first.body.item.itemId);
      expect(await countStored(app, other.userId)).toEqual({ items: 0, accounts: 0 });
    });
  });

  describe('reading funding sources', () => {
    it('lists every linked bank newest first, and gets each one by id', async () => {
      const { userId } = await registerUser(app);
      const first = await api.as(userId).connect();
      const second = await api.as(userId).connect();
      expect([first.status, second.status]).toEqual([201, 201]);

      const list = await api.as(userId).list();
      expect(list.status).toBe(200);
      expect(Object.keys(list.body)).toEqual(['data']);
      const ids = list.body.data.map((s) => s.id);
      const firstIds = first.body.fundingSources.map((s) => s.id);
      const secondIds = second.body.fundingSources.map((s) => s.id);
      expect(ids).toHaveLength(firstIds.length + secondIds.length);
      // The second bank's accounts come before the first's.
      expect(new Set(ids.slice(0, secondIds.length))).toEqual(new Set(secondIds));
      expect(new Set(ids.slice(secondIds.length))).toEqual(new Set(firstIds));
      const createdAt = list.body.data.map((s) => s.createdAt);
      expect([...createdAt].sort().reverse()).toEqual(createdAt);

      for (const source of first.body.fundingSources) {
        const one = await api.as(userId).get(source.id);
        expect(one.status).toBe(200);
        expect(one.body).toEqual(source);
      }
    });

    it('filters by status: default hides disconnected, all shows every one', async () => {
      const { userId } = await registerUser(app);
      const linked = await api.as(userId).connect();
      const [disconnected, ...others] = linked.body.fundingSources;
      await app.prisma.bankAccount.update({
        where: { id: disconnected.id },
        data: { status: 'disconnected' },
      });
      const ids = async (status?: StatusFilter): Promise<string[]> => {
        const res = await api.as(userId).list({ status });
        expect(res.status).toBe(200);
        return res.body.data.map((s) => s.id).sort();
      };
      const all = linked.body.fundingSources.map((s) => s.id).sort();
      expect(await ids()).toEqual(others.map((s) => s.id).sort());
      expect(await ids('active')).toEqual(others.map((s) => s.id).sort());
      expect(await ids('disconnected')).toEqual([disconnected.id]);
      expect(await ids('error')).toEqual([]);
      expect(await ids('all')).toEqual(all);
    });

    it('returns an empty list for a registered user with no bank, and 404 for an unknown user', async () => {
      const { userId } = await registerUser(app);
      const empty = await api.as(userId).list();
      expect(empty.status).toBe(200);
      expect(empty.body).toEqual({ data: [] });

      const res = await api.as(uniqueUserId()).list();
      expect(res.status).toBe(404);
      expect(res.error.code).toBe('USER_NOT_FOUND');
    });

    it("answers 404 for another user's funding source id, never its data", async () => {
      const owner = await registerUser(app);
      const other = await registerUser(app);
      const linked = await api.as(owner.userId).connect();
      const sourceId = linked.body.fundingSources[0].id;

      for (const caller of [api.as(other.userId), api.admin().user(other.userId)]) {
        const res = await caller.get(sourceId);
        expect(res.status).toBe(404);
        expect(res.error.code).toBe('FUNDING_SOURCE_NOT_FOUND');
        expect(res.text).not.toContain(owner.userId);
      }
      const missing = await api.as(owner.userId).get('00000000-0000-4000-8000-000000000000');
      expect(missing.status).toBe(404);
      expect(missing.error.code).toBe('FUNDING_SOURCE_NOT_FOUND');
    });
  });

  describe('disconnect with the sandbox', () => {
    it('disconnects every account of an item, the item at the sandbox with the last', async () => {
      const { userId } = await registerUser(app);
      const linked = await api.as(userId).connect();
      for (const source of linked.body.fundingSources) {
        const res = await api.as(userId).disconnect(source.id);
        expect(res.status).toBe(200);
        expect(res.body.status).toBe('disconnected');
      }
      expect((await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } })).status).toBe(
        'disconnected',
      );
      const sync = await api.as(userId).sync();
      // The sandbox now lists the item as DISCONNECTED too: nothing changes.
      expect(sync.body).toMatchObject({ added: 0, updated: 0 });
    });
  });

  describe('sync with the sandbox', () => {
    it('finds nothing to add or change after ordinary connects', async () => {
      const { userId } = await registerUser(app);
      const a = await api.as(userId).connect();
      const b = await api.as(userId).connect();
      const res = await api.as(userId).sync();
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ added: 0, updated: 0 });
      const expected = [...a.body.fundingSources, ...b.body.fundingSources].map((s) => s.id).sort();
      expect(res.body.data.map((s) => s.id).sort()).toEqual(expected);
    });
  });

  describe("the user's Bluum account", () => {
    it('cannot change once a bank is linked (409), and can before', async () => {
      const { userId } = await registerUser(app);
      const admin = api.admin().user(userId);
      const moved = await admin.putUser({ bluumAccountId: bluumAccountIdFor('moved_before_link') });
      expect(moved.status).toBe(200);
      expect(moved.body.bluumAccountId).toBe(bluumAccountIdFor('moved_before_link'));

      expect((await api.as(userId).connect()).status).toBe(201);
      const conflict = await admin.putUser({ bluumAccountId: bluumAccountIdFor('moved_after_link') });
      expect(conflict.status).toBe(409);
      expect(conflict.error.code).toBe('BLUUM_ACCOUNT_CONFLICT');
      const stored = await app.prisma.user.findUniqueOrThrow({ where: { id: userId } });
      expect(stored.bluumAccountId).toBe(bluumAccountIdFor('moved_before_link'));

      const same = await admin.putUser({ bluumAccountId: bluumAccountIdFor('moved_before_link') });
      expect(same.status).toBe(200);
    });
  });
});
