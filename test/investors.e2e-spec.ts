// The whole flow on Bluum's investors generation (BLUUM_API_VERSION=investors): /v1/investors/{inv_…}
// routes, one fs_ funding source per bank account, transfers by funding_source_id. The gateway's specs
// hold each wire shape and fault mapping of the adapter (the users service's spec holds that only inv_ ids are
// registered); these hold what a user of the API relies on, over HTTP, against the fault-injecting
// stand-in in that generation: what is stored and answered, the double submit, a lost reply, Bluum's
// statuses, disconnect, duplicates, and Bluum slow, failing or cut off.
import { randomBytes } from 'node:crypto';
import { basicAuthorization } from '../src/bluum/bluum-endpoint';
import { wireItem } from '../src/bluum/wire-fixtures';
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../src/config/app-config';
import { ReconcileSweep } from '../src/reconciliation/reconcile-sweep';
import type { FakeItem } from './support/fake-bluum';
import { useAppWithFakeBluum } from './support/fake-bluum';
import { countStored, sandboxPublicToken, uniqueUserId } from './support/test-app';
import { adminToken, depositServiceToken } from './support/tokens';

/** A bank of two accounts as Bluum links it (the stand-in gives each its own fs_ id). */
function twoAccountBank(): FakeItem {
  return wireItem({
    id: undefined,
    itemId: `item_${randomBytes(6).toString('hex')}`,
    institutionId: undefined,
    institutionName: 'First Platypus Bank',
    accounts: [
      { accountId: 'acc_checking', accountName: 'Plaid Checking', accountSubtype: 'checking', mask: '0000' },
      { accountId: 'acc_saving', accountName: 'Plaid Saving', accountSubtype: 'savings', mask: '1111' },
    ],
  }) as unknown as FakeItem;
}

// Bluum's side of a change made there (the fake checks the app's own key pair).
const BLUUM_BASIC = basicAuthorization(DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET);

// Plaid Link's onSuccess metadata for that bank: the only source of its institution id here.
const METADATA = {
  institution: { id: 'ins_109508' },
  accounts: [
    { mask: '0000', name: 'Plaid Checking' },
    { mask: '1111', name: 'Plaid Saving' },
  ],
};

describe("Bluum's investors generation (BLUUM_API_VERSION=investors)", () => {
  const suite = useAppWithFakeBluum({ BLUUM_API_VERSION: 'investors', BLUUM_TIMEOUT_MS: '800' });

  /** A user registered under a fresh investor id. */
  async function investor(): Promise<{ userId: string; investorId: string }> {
    const userId = uniqueUserId('inv');
    const investorId = `inv_${randomBytes(6).toString('hex')}`;
    const put = await suite.app.request('PUT', `/v1/users/${userId}`, {
      token: adminToken(),
      body: { bluumAccountId: investorId },
    });
    expect(put.status).toBe(201);
    return { userId, investorId };
  }

  it("asks Bluum's investor routes for a link token and answers its flat reply, hosted or not", async () => {
    const { userId, investorId } = await investor();
    const sdk = await suite.api.as(userId).linkToken();
    const hosted = await suite.api.as(userId).linkToken({ enableHostedLink: true });
    expect(sdk.status).toBe(201);
    expect(sdk.body).toEqual({ linkToken: expect.stringMatching(/^link-sandbox-/), hostedLinkUrl: null });
    expect(hosted.body.hostedLinkUrl).toMatch(/^https:\/\//);
    expect(suite.bluum.calls('link-token').map((call) => [call.path, call.body])).toEqual([
      [`/v1/investors/${investorId}/funding-sources/plaid/link-token`, { enable_hosted_link: false }],
      [`/v1/investors/${investorId}/funding-sources/plaid/link-token`, { enable_hosted_link: true }],
    ]);
  });

  it('connects a bank: one funding source per fs_, transferOptions names it, the institution from Plaid Link', async () => {
    const { userId, investorId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    const publicToken = sandboxPublicToken();
    const res = await suite.api.as(userId).connect({ publicToken, metadata: METADATA });

    expect(res.status).toBe(201);
    expect(suite.bluum.calls('connect').map((call) => [call.path, call.body])).toEqual([
      [`/v1/investors/${investorId}/funding-sources/connect`, { type: 'plaid', public_token: publicToken }],
    ]);
    const rows = suite.bluum.rows(investorId);
    expect(res.body.item).toMatchObject({
      institutionId: 'ins_109508',
      institutionName: 'First Platypus Bank',
    });
    expect(res.body.fundingSources.map((source) => source.mask)).toEqual(['0000', '1111']);
    for (const source of res.body.fundingSources) {
      const row = rows.find((r) => r.mask === source.mask)!;
      expect(source).toMatchObject({
        status: 'active',
        itemId: row.provider_id,
        institutionId: 'ins_109508',
        accountId: null,
        plaidOptions: null,
        bluumFundingSourceId: row.id,
        transferOptions: { funding_source_id: row.id },
      });
      expect(row.id).toMatch(/^fs_/);
    }

    // What a deposit service reads is what connect answered, on both read routes.
    const listed = await suite.api.withToken(depositServiceToken()).user(userId).list();
    expect(listed.body.data.map((s) => s.transferOptions).sort(byJson)).toEqual(
      res.body.fundingSources.map((s) => s.transferOptions).sort(byJson),
    );
    const one = await suite.api.as(userId).get(res.body.fundingSources[0].id);
    expect(one.body).toEqual(res.body.fundingSources[0]);
  });

  it('exchanges a public token sent twice at once, or under one Idempotency-Key, once at Bluum', async () => {
    const { userId } = await investor();
    const publicToken = sandboxPublicToken();
    const [a, b] = await Promise.all([
      suite.api.as(userId).connect({ publicToken }),
      suite.api.as(userId).connect({ publicToken }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body).toEqual(b.body);
    const keyedToken = sandboxPublicToken();
    const keyed = await suite.api
      .as(userId)
      .connect({ publicToken: keyedToken, idempotencyKey: `key-${userId}` });
    const again = await suite.api
      .as(userId)
      .connect({ publicToken: keyedToken, idempotencyKey: `key-${userId}` });
    expect([keyed.status, again.status]).toEqual([201, 201]);
    expect(again.body).toEqual(keyed.body);
    expect(suite.bluum.calls('connect')).toHaveLength(2);
    expect(await countStored(suite.app, userId)).toEqual({ items: 2, accounts: 2 });
  });

  it("recovers a bank whose connect reply was lost through sync, and follows Bluum's statuses per account", async () => {
    const { userId, investorId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    suite.bluum.failNext({
      afterWork: true,
      status: 504,
      body: '<html>Gateway Timeout</html>',
      forOperation: 'connect',
    });
    const lost = await suite.api.as(userId).connect();
    expect(lost.status).toBe(502);
    expect(await countStored(suite.app, userId)).toEqual({ items: 0, accounts: 0 });

    const synced = await suite.api.as(userId).sync();
    expect(synced.status).toBe(200);
    expect(synced.body).toMatchObject({ added: 2, updated: 0 });
    const rows = suite.bluum.rows(investorId);
    expect(synced.body.data.map((s) => s.transferOptions).sort(byJson)).toEqual(
      rows.map((row) => ({ funding_source_id: row.id })).sort(byJson),
    );

    // Bluum marks the item in error: both accounts follow on the next sync.
    suite.bluum.items.get(investorId)![0].status = 'ERROR';
    const again = await suite.api.as(userId).sync();
    expect(again.body).toMatchObject({ added: 0, updated: 2 });
    expect((await suite.api.as(userId).list({ status: 'all' })).body.data.map((s) => s.status)).toEqual([
      'error',
      'error',
    ]);
  });

  it('disconnects each account at Bluum by its fs_ first, the last one with its item; a Bluum failure changes nothing', async () => {
    const { userId, investorId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    const { fundingSources } = await suite.api.as(userId).linkBank();
    const [first, second] = fundingSources;
    const deleted = () =>
      suite.bluum
        .calls('disconnect')
        .filter((call) => call.method === 'DELETE')
        .map((call) => call.path);
    const fsPath = (id: string | null) =>
      `/v1/investors/${investorId}/funding-sources/${String(id)}?type=plaid`;

    // Bluum fails: the account stays active here and there.
    suite.bluum.failNext({ status: 503, forOperation: 'disconnect' });
    const failed = await suite.api.as(userId).disconnect(first.id);
    expect(failed.status).toBe(502);
    expect((await suite.api.as(userId).get(first.id)).body.status).toBe('active');

    // Not the item's last account, but a funding source of its own at Bluum: Bluum disconnects it alone.
    const one = await suite.api.as(userId).disconnect(first.id);
    expect(one.status).toBe(200);
    expect(one.body.status).toBe('disconnected');
    expect(deleted().at(-1)).toBe(fsPath(first.bluumFundingSourceId));
    expect(suite.bluum.rows(investorId).map((row) => [row.id, row.status])).toEqual(
      expect.arrayContaining([
        [first.bluumFundingSourceId, 'disconnected'],
        [second.bluumFundingSourceId, 'active'],
      ]),
    );
    expect((await suite.api.as(userId).get(second.id)).body.status).toBe('active');

    // The last one: the item goes with it, at Bluum as here.
    const last = await suite.api.as(userId).disconnect(second.id);
    expect(last.body.status).toBe('disconnected');
    expect(deleted().at(-1)).toBe(fsPath(second.bluumFundingSourceId));
    expect(suite.bluum.rows(investorId).map((row) => row.status)).toEqual(['disconnected', 'disconnected']);
    const item = await suite.app.prisma.plaidItem.findFirstOrThrow({ where: { userId } });
    expect(item.status).toBe('disconnected');
  });

  it('the reconciliation sweep takes a status Bluum changed on one funding source, that account alone', async () => {
    const { userId, investorId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    const { fundingSources } = await suite.api.as(userId).linkBank();
    // Bluum revokes one bank account (its row), not the item.
    const revoked = fundingSources[0];
    const deleted = await fetch(
      `${suite.bluum.url}/v1/investors/${investorId}/funding-sources/${String(revoked.bluumFundingSourceId)}?type=plaid`,
      { method: 'DELETE', headers: { authorization: BLUUM_BASIC } },
    );
    expect(deleted.status).toBe(204);

    const result = await suite.app.app
      .get(ReconcileSweep)
      .sweepUsers([{ id: userId, bluumAccountId: investorId, reconciledAt: null }]);
    expect(result).toMatchObject({ outcome: 'complete', checked: 1, changed: 1, failed: 0 });
    const listed = (await suite.api.as(userId).list({ status: 'all' })).body.data;
    expect(Object.fromEntries(listed.map((source) => [source.id, source.status]))).toEqual({
      [revoked.id]: 'disconnected',
      [fundingSources[1].id]: 'active',
    });
  });

  it('refuses a bank already linked with the same accounts (409) before Bluum is called', async () => {
    const { userId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    await suite.api.as(userId).linkBank({ metadata: METADATA });
    const duplicate = await suite.api.as(userId).connect({ metadata: METADATA });
    expect(duplicate.status).toBe(409);
    expect(duplicate.error.code).toBe('DUPLICATE_ITEM');
    expect(suite.bluum.calls('connect')).toHaveLength(1);
  });

  it.each([
    ['slow', { delayMs: 2_000 }, 504, 'BLUUM_TIMEOUT'],
    [
      'failing',
      { status: 500, body: { error: { type: 'api_error', code: 'BLUM-500-001' } } },
      502,
      'BLUUM_UNAVAILABLE',
    ],
    ['cut off mid-reply', { reset: true }, 502, 'BLUUM_UNAVAILABLE'],
  ] as const)(
    'answers a clear %s Bluum on connect, storing nothing and leaving the token usable',
    async (_name, fault, status, code) => {
      const { userId } = await investor();
      const publicToken = sandboxPublicToken();
      suite.bluum.failAll({ ...fault, forOperation: 'connect' });
      const res = await suite.api.as(userId).connect({ publicToken });
      expect(res.status).toBe(status);
      expect(res.error.code).toBe(code);
      expect(await countStored(suite.app, userId)).toEqual({ items: 0, accounts: 0 });
      suite.bluum.reset();
      expect((await suite.api.as(userId).connect({ publicToken })).status).toBe(201);
    },
  );
});

const byJson = (a: unknown, b: unknown): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
