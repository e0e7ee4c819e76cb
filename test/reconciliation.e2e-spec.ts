// The reconciliation sweep in the real app against the fake Bluum over HTTP: it finds a status change
// Bluum made and records it as `system`, goes on past one user's failure (an error, a timeout, a reply
// cut), pauses for Retry-After, and keeps its calls under BLUUM_MAX_REQUESTS_PER_SECOND while requests
// get through. Each test sweeps its own users only (ReconcileSweep.sweepUsers, the sweep's workers and
// pacing scoped to them), so no other spec's users are read or written. The scheduled sweep's lease and
// walk of every due user are the medium tier's (test/medium/reconciliation.medium-spec.ts).
import { randomUUID } from 'node:crypto';
import { ReconcileSweep } from '../src/reconciliation/reconcile-sweep';
import type { Api } from './support/api';
import { type RecordedRequest, useAppWithFakeBluum } from './support/fake-bluum';
import { bluumAccountIdFor, PER_ACCOUNT } from './support/generation';
import { registerUser, type TestApp, uniqueUserId } from './support/test-app';

const PREFIX = 'reconciled';

// The scheduled sweep stays off (the test app's default): each test sweeps its own users itself.
const ENV = {
  BLUUM_MAX_REQUESTS_PER_SECOND: '10',
  // The slow user below waits this long, no more.
  BLUUM_TIMEOUT_MS: '1000',
  // Two slots: the sweep may hold one at most, so a user's request always finds the other.
  BLUUM_MAX_CONCURRENCY: '2',
};

/** The Bluum account (or investor) a request Bluum got was for. */
const ownerOf = (request: RecordedRequest): string => decodeURIComponent(request.path.split('/')[3]);

/** Whether a request Bluum got is a list of this account's funding sources (any account's when not given). */
const isList = (request: RecordedRequest, bluumAccountId?: string): boolean =>
  request.operation === 'list' && (bluumAccountId === undefined || ownerOf(request) === bluumAccountId);

/** A registered user with one bank linked through the API. */
async function linkedUser(app: TestApp, api: Api): Promise<{ userId: string; bluumAccountId: string }> {
  const user = await registerUser(app, uniqueUserId(PREFIX));
  await api.as(user.userId).linkBank();
  return user;
}

/** `count` registered users, each with one active item and account, written straight to the database. */
async function seedLinkedUsers(
  app: TestApp,
  count: number,
): Promise<{ userId: string; bluumAccountId: string }[]> {
  const users = Array.from({ length: count }, () => ({
    userId: uniqueUserId(PREFIX),
    bluumAccountId: bluumAccountIdFor(randomUUID()),
    itemId: randomUUID(),
  }));
  await app.prisma.user.createMany({
    data: users.map((u) => ({ id: u.userId, bluumAccountId: u.bluumAccountId })),
  });
  await app.prisma.plaidItem.createMany({
    data: users.map((u) => ({
      id: u.itemId,
      userId: u.userId,
      itemId: `item_${u.itemId}`,
      institutionName: 'Seed Bank',
    })),
  });
  await app.prisma.bankAccount.createMany({
    data: users.map((u) => ({
      plaidItemId: u.itemId,
      userId: u.userId,
      accountId: `acc_${u.itemId}`,
      name: 'Checking',
      type: 'depository',
      mask: '0000',
      // The item's fields every account carries (the read path reads bank_accounts alone).
      itemId: `item_${u.itemId}`,
      institutionName: 'Seed Bank',
      // Where Bluum holds each account as a funding source of its own, it is named by that.
      ...(PER_ACCOUNT
        ? { transferBy: 'funding_source_id', bluumFundingSourceId: `fs_${u.itemId.replaceAll('-', '')}` }
        : {}),
    })),
  });
  return users;
}

/** Sweeps `users`, and no one else, in the app. */
function sweep(app: TestApp, users: readonly { userId: string; bluumAccountId: string }[]) {
  return app.app
    .get(ReconcileSweep)
    .sweepUsers(
      users.map(({ userId, bluumAccountId }) => ({ id: userId, bluumAccountId, reconciledAt: null })),
    );
}

describe('reconciliation sweep', () => {
  const suite = useAppWithFakeBluum(ENV);

  it('finds a status change made at Bluum and records it with the actor system', async () => {
    const { userId, bluumAccountId } = await linkedUser(suite.app, suite.api);
    const [source] = (await suite.api.as(userId).list()).body.data;
    suite.bluum.items.get(bluumAccountId)![0].status = 'ERROR';

    const result = await sweep(suite.app, [{ userId, bluumAccountId }]);

    expect(result).toMatchObject({ outcome: 'complete', checked: 1, changed: 1, failed: 0 });
    expect(suite.bluum.requests.filter((r) => isList(r, bluumAccountId))).toHaveLength(1);
    const after = await suite.api.as(userId).get(source.id);
    expect(after.body.status).toBe('error');
    const events = await suite.api.admin().events(userId);
    expect(events.body.data[0]).toMatchObject({
      type: 'status_changed',
      fundingSourceId: source.id,
      actor: { subject: 'system', role: null },
      requestId: null,
      details: { from: 'active', to: 'error', via: 'reconcile' },
    });
    // Nothing changed since: the next sweep writes no event.
    expect(await sweep(suite.app, [{ userId, bluumAccountId }])).toMatchObject({ changed: 0 });
    expect((await suite.api.admin().events(userId)).body.data).toHaveLength(events.body.data.length);
  });

  it('goes on past a user Bluum answers 500 for, and retries that user next sweep', async () => {
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await linkedUser(suite.app, suite.api));
    for (const { bluumAccountId } of users) suite.bluum.items.get(bluumAccountId)![0].status = 'ERROR';
    const [, failing] = users;
    suite.bluum.failNext({ status: 500, forAccount: failing.bluumAccountId });

    const first = await sweep(suite.app, users);

    expect(first).toMatchObject({ outcome: 'complete', checked: 3, changed: 2, failed: 1 });
    const statusOf = async (userId: string) => (await suite.api.as(userId).list()).body.data[0].status;
    expect(await statusOf(users[0].userId)).toBe('error');
    expect(await statusOf(failing.userId)).toBe('active');
    expect(await statusOf(users[2].userId)).toBe('error');
    // One attempt only: the sweep's call is never retried within the gateway.
    expect(suite.bluum.requests.filter((r) => isList(r, failing.bluumAccountId))).toHaveLength(1);

    const second = await sweep(suite.app, users);
    expect(second).toMatchObject({ outcome: 'complete', changed: 1, failed: 0 });
    expect(await statusOf(failing.userId)).toBe('error');
  });

  it('goes on past a Bluum too slow for one user and a reply lost mid-way for another, changing nothing for them', async () => {
    const users = [];
    for (let i = 0; i < 3; i++) users.push(await linkedUser(suite.app, suite.api));
    for (const { bluumAccountId } of users) suite.bluum.items.get(bluumAccountId)![0].status = 'ERROR';
    const [slow, cut, fine] = users;
    // Past BLUUM_TIMEOUT_MS (1 s here), and a connection cut after Bluum read the request.
    suite.bluum.failNext({ delayMs: 1_500, forAccount: slow.bluumAccountId });
    suite.bluum.failNext({ reset: true, forAccount: cut.bluumAccountId });

    const result = await sweep(suite.app, users);

    expect(result).toMatchObject({ outcome: 'complete', failed: 2, changed: 1 });
    const statusOf = async (userId: string) => (await suite.api.as(userId).list()).body.data[0].status;
    expect([await statusOf(slow.userId), await statusOf(cut.userId), await statusOf(fine.userId)]).toEqual([
      'active',
      'active',
      'error',
    ]);
    // Their next sweep takes Bluum's status.
    expect(await sweep(suite.app, users)).toMatchObject({ outcome: 'complete', changed: 2, failed: 0 });
    expect(await statusOf(slow.userId)).toBe('error');
  });

  it("pauses the sweep's calls for a 429's Retry-After, then reconciles that user too", async () => {
    const users = [];
    for (let i = 0; i < 4; i++) users.push(await linkedUser(suite.app, suite.api));
    const limited = users[1];
    suite.bluum.items.get(limited.bluumAccountId)![0].status = 'ERROR';
    suite.bluum.failNext({
      status: 429,
      headers: { 'retry-after': '1' },
      forAccount: limited.bluumAccountId,
    });

    const result = await sweep(suite.app, users);

    expect(result).toMatchObject({ outcome: 'complete', checked: 4, failed: 0 });
    const lists = suite.bluum.requests.filter((r) => isList(r));
    const limitedCalls = lists.filter((r) => isList(r, limited.bluumAccountId));
    expect(limitedCalls).toHaveLength(2);
    const refusedAt = limitedCalls[0].at;
    // At most the other worker's call, already on its way, arrives during the pause.
    expect(lists.filter((r) => r.at > refusedAt && r.at < refusedAt + 950).length).toBeLessThanOrEqual(1);
    expect(limitedCalls[1].at - refusedAt).toBeGreaterThanOrEqual(950);
    expect((await suite.api.as(limited.userId).list()).body.data[0].status).toBe('error');
  });

  it('keeps its calls to Bluum within BLUUM_MAX_REQUESTS_PER_SECOND over many users, and requests still get through', async () => {
    // Half again the per-second budget: the sweep must wait for the next second (at most one), and no
    // longer. The budget's rule under many concurrent callers is test/medium/reconciliation.medium-spec.ts's.
    // Stored straight into the database: linking banks over HTTP is not what this spec is about.
    const users = await seedLinkedUsers(suite.app, 15);
    suite.bluum.reset();

    const sweeping = sweep(suite.app, users);
    // Users' own syncs, one after another, while the sweep waits for its budget: the sweep never takes
    // the slot they need.
    const synced = [];
    for (const { userId } of users.slice(0, 3)) synced.push((await suite.api.as(userId).sync()).status);
    const result = await sweeping;

    expect(synced).toEqual([200, 200, 200]);
    const userSyncs = new Set(users.slice(0, 3).map((u) => u.bluumAccountId));
    expect(result).toMatchObject({ outcome: 'complete', checked: 15, failed: 0 });
    for (const { bluumAccountId } of users) {
      // Each user's list once by the sweep, and once more for the three that synced themselves.
      const calls = suite.bluum.requests.filter((r) => isList(r, bluumAccountId)).length;
      expect(calls).toBe(userSyncs.has(bluumAccountId) ? 2 : 1);
    }
    // The sweep's list calls, by the second they reached Bluum in.
    const perSecond = new Map<number, number>();
    for (const request of suite.bluum.requests) {
      if (!isList(request)) continue;
      if (userSyncs.has(ownerOf(request))) continue;
      const second = Math.floor(request.at / 1000);
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
    }
    expect(Math.max(...perSecond.values())).toBeLessThanOrEqual(10);
  });
});
