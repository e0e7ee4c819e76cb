// What only Bluum's investors generation has (BLUUM_API_VERSION=investors): Bluum's rows, one fs_ funding
// source per bank account, grouped into the item by provider_id, no institution id (Plaid Link's metadata
// is the client's claim: it keys the duplicate check, never what is shown), the events' transferOptions, and a status Bluum changed on one funding source alone. The
// rest of the flow (link token, double submits, idempotency keys, sync, disconnect, duplicates, the
// bulkhead, Bluum slow, failing or cut off) runs in this generation too: the `e2e-investors` project
// runs those suites again (test/generations/investors.generation-spec.ts). The gateway's specs hold each
// wire shape and fault mapping of the adapter.
import { randomBytes } from 'node:crypto';
import { basicAuthorization } from '../src/bluum/bluum-endpoint';
import { wireItem } from '../src/bluum/wire-fixtures';
import { DEV_BLUUM_API_KEY, DEV_BLUUM_API_SECRET } from '../src/config/app-config';
import { ReconcileSweep } from '../src/reconciliation/reconcile-sweep';
import type { FakeItem } from './support/fake-bluum';
import { useAppWithFakeBluum } from './support/fake-bluum';
import { sandboxPublicToken, uniqueUserId } from './support/test-app';
import { adminToken, depositServiceToken } from './support/tokens';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';

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

// Plaid Link's onSuccess metadata for that bank: the client's claim of its institution id.
const METADATA = {
  institution: { id: 'ins_109508' },
  accounts: [
    { mask: '0000', name: 'Plaid Checking' },
    { mask: '1111', name: 'Plaid Saving' },
  ],
};

describe("Bluum's investors generation (BLUUM_API_VERSION=investors)", () => {
  // The events a deposit service receives carry the same transferOptions.
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
  });
  const suite = useAppWithFakeBluum(() => ({
    BLUUM_API_VERSION: 'investors',
    BLUUM_TIMEOUT_MS: '800',
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  }));
  afterAll(() => receiver?.close());

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

  it("connects a bank: one funding source per fs_, transferOptions names it, no institution id but Bluum's", async () => {
    const { userId, investorId } = await investor();
    suite.bluum.nextConnectLinks(twoAccountBank());
    const publicToken = sandboxPublicToken();
    const res = await suite.api.as(userId).connect({ publicToken, metadata: METADATA });

    expect(res.status).toBe(201);
    expect(suite.bluum.calls('connect').map((call) => [call.path, call.body])).toEqual([
      [`/v1/investors/${investorId}/funding-sources/connect`, { type: 'plaid', public_token: publicToken }],
    ]);
    const rows = suite.bluum.rows(investorId);
    // Bluum names none; the client's claim is not Bluum's word.
    expect(res.body.item).toMatchObject({ institutionId: null, institutionName: 'First Platypus Bank' });
    expect(res.body.fundingSources.map((source) => source.mask)).toEqual(['0000', '1111']);
    for (const source of res.body.fundingSources) {
      const row = rows.find((r) => r.mask === source.mask)!;
      expect(source).toMatchObject({
        status: 'active',
        itemId: row.provider_id,
        institutionId: null,
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
    // And what each linked event tells.
    for (const source of res.body.fundingSources) {
      await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
      expect(receiver.accepted(source.id)[0].payload).toMatchObject({
        type: 'funding_source.linked',
        data: { id: source.id, transferOptions: source.transferOptions, institutionId: null },
      });
    }
    // The claim still keys the duplicate check: the same bank with the same metadata is refused.
    suite.bluum.nextConnectLinks(twoAccountBank());
    const again = await suite.api
      .as(userId)
      .connect({ publicToken: sandboxPublicToken(), metadata: METADATA });
    expect(again.status).toBe(409);
    expect(again.error).toMatchObject({ code: 'DUPLICATE_ITEM' });
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
});

const byJson = (a: unknown, b: unknown): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
