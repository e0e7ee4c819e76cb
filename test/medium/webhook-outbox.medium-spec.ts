// The outbox on a real database: what a change writes, and how deliveries are claimed across instances
// (order per funding source and receiver, one claim at a time, a dead claimer's work taken over).
import { SYSTEM_CALLER } from '../../src/auth/caller';
import type { ClaimedDelivery } from '../../src/webhooks/webhook-deliveries.repository';
import { MEDIUM_WEBHOOK_URL, MediumContext } from './medium-context';

describe('webhook outbox on a real database', () => {
  let ctx: MediumContext;
  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const URLS = [MEDIUM_WEBHOOK_URL];
  const LEASE_MS = 60_000;
  const deliveriesOf = (fundingSourceIds: string[]) =>
    ctx.prisma.webhookDelivery.findMany({
      where: { fundingSourceId: { in: fundingSourceIds } },
      orderBy: { seq: 'asc' },
    });
  // Other specs on a shared PostgreSQL write deliveries too: only ours count.
  const claimOurs = async (ids: string[], leaseMs = LEASE_MS): Promise<ClaimedDelivery[]> => {
    const claimed = await ctx.webhookDeliveries.claimDue(URLS, 1_000, leaseMs);
    const ours = new Set((await deliveriesOf(ids)).map((d) => d.id));
    return claimed.filter((d) => ours.has(d.id));
  };

  it('writes one delivery per published event with the change, its id the audit event id', async () => {
    const linked = await ctx.newLinkedItem({ accounts: 2 });
    const ids = linked.fundingSources.map((s) => s.id);
    const deliveries = await deliveriesOf(ids);
    const events = await ctx.prisma.fundingSourceEvent.findMany({ where: { fundingSourceId: { in: ids } } });

    expect(deliveries.map((d) => [d.eventType, d.url, d.status, d.attempts])).toEqual([
      ['funding_source.linked', MEDIUM_WEBHOOK_URL, 'pending', 0],
      ['funding_source.linked', MEDIUM_WEBHOOK_URL, 'pending', 0],
    ]);
    expect(deliveries.map((d) => d.eventId).sort()).toEqual(events.map((e) => e.id).sort());
    const body = JSON.parse(deliveries[0].payload) as { type: string; data: { id: string; status: string } };
    expect(body).toMatchObject({ type: 'funding_source.linked', data: { id: ids[0], status: 'active' } });
    expect(deliveries[0].giveUpAt.getTime() - deliveries[0].createdAt.getTime()).toBeGreaterThan(
      23.9 * 3600_000,
    );
  });

  const syncStatus = (
    linked: Awaited<ReturnType<MediumContext['newLinkedItem']>>,
    status: 'ACTIVE' | 'ERROR',
  ) =>
    ctx.writes.syncItems(
      linked.user.id,
      linked.user.bluumAccountId,
      [{ ...linked.bluumItem, status }],
      SYSTEM_CALLER,
    );
  const sequenceInBody = (payload: string): unknown =>
    (JSON.parse(payload) as { sequence: unknown }).sequence;

  it("numbers each funding source's events 1, 2, 3, in the stored body and beside it", async () => {
    const linked = await ctx.newLinkedItem({ accounts: 2 });
    const [a, b] = linked.fundingSources;
    await syncStatus(linked, 'ERROR');
    await syncStatus(linked, 'ACTIVE');

    const deliveries = await deliveriesOf([a.id, b.id]);
    for (const source of [a, b]) {
      const ofSource = deliveries.filter((d) => d.fundingSourceId === source.id);
      expect(ofSource.map((d) => [d.eventType, d.sequence, sequenceInBody(d.payload)])).toEqual([
        ['funding_source.linked', 1, 1],
        ['funding_source.status_changed', 2, 2],
        ['funding_source.status_changed', 3, 3],
      ]);
    }
    // The bytes a retry sends again: the sequence is in them, not added at send time.
    expect(deliveries[0].payload).toMatch(
      /^\{"type":"funding_source\.linked","timestamp":"[^"]+","sequence":1,"data":\{/,
    );
  });

  it('keeps counting after the earlier deliveries are gone (the retention sweep removes them)', async () => {
    const linked = await ctx.newLinkedItem();
    const [source] = linked.fundingSources;
    await ctx.prisma.webhookDelivery.deleteMany({ where: { fundingSourceId: source.id } });
    await syncStatus(linked, 'ERROR');
    const [changed] = await deliveriesOf([source.id]);
    expect([changed.sequence, sequenceInBody(changed.payload)]).toEqual([2, 2]);
  });

  it('gives concurrent changes of one funding source distinct sequences that grow in queue order', async () => {
    const linked = await ctx.newLinkedItem();
    const [source] = linked.fundingSources;
    await Promise.all(
      (['ERROR', 'ACTIVE', 'ERROR', 'ACTIVE', 'ERROR', 'ACTIVE'] as const).map((status) =>
        syncStatus(linked, status),
      ),
    );
    const sequences = (await deliveriesOf([source.id])).map((d) => d.sequence);
    expect(sequences.length).toBeGreaterThan(1);
    expect(sequences).toEqual(sequences.map((_, index) => index + 1));
  });

  it('writes nothing for a change that was refused, nor for a sync that changed nothing', async () => {
    const linked = await ctx.newLinkedItem();
    const other = await ctx.newUser();
    // The same item for another user: refused, nothing written.
    const refused = await ctx.saveItem(other, linked.bluumItem);
    expect(refused.kind).toBe('item-of-another-user');
    const synced = await ctx.writes.syncItems(
      linked.user.id,
      linked.user.bluumAccountId,
      [linked.bluumItem],
      SYSTEM_CALLER,
    );
    expect(synced).toMatchObject({ kind: 'synced', added: 0, updated: 0 });
    expect(await deliveriesOf(linked.fundingSources.map((s) => s.id))).toHaveLength(1);
  });

  it("claims a funding source's events one at a time, in the order they happened", async () => {
    const linked = await ctx.newLinkedItem();
    const [source] = linked.fundingSources;
    await ctx.writes.syncItems(
      linked.user.id,
      linked.user.bluumAccountId,
      [{ ...linked.bluumItem, status: 'ERROR' }],
      SYSTEM_CALLER,
    );
    const [linkedEvent, changedEvent] = await deliveriesOf([source.id]);
    expect([linkedEvent.eventType, changedEvent.eventType]).toEqual([
      'funding_source.linked',
      'funding_source.status_changed',
    ]);

    const first = await claimOurs([source.id]);
    expect(first.map((d) => d.id)).toEqual([linkedEvent.id]);
    // While the first is out (claimed, not settled), the second waits for it.
    expect(await claimOurs([source.id], 0)).toEqual([]);
    await ctx.webhookDeliveries.markDelivered(first[0], 200);
    expect((await claimOurs([source.id])).map((d) => d.id)).toEqual([changedEvent.id]);
  });

  it('holds later events until a failed one is retried, and lets one given up stop holding them', async () => {
    const linked = await ctx.newLinkedItem();
    const [source] = linked.fundingSources;
    await ctx.writes.syncItems(
      linked.user.id,
      linked.user.bluumAccountId,
      [{ ...linked.bluumItem, status: 'ERROR' }],
      SYSTEM_CALLER,
    );
    const all = await deliveriesOf([source.id]);
    expect(all).toHaveLength(2);

    const [first] = await claimOurs([source.id]);
    expect(first.id).toBe(all[0].id);
    const retryAt = new Date(Date.now() + 3_600_000);
    await ctx.webhookDeliveries.markAttemptFailed(first, { responseStatus: 500, error: 'HTTP 500' }, retryAt);
    // The later event is not due before the first one's retry: the claim no longer looks at it meanwhile.
    const later = await ctx.prisma.webhookDelivery.findUniqueOrThrow({ where: { id: all[1].id } });
    expect(later.nextAttemptAt.getTime()).toBeGreaterThanOrEqual(retryAt.getTime());

    // Given up (its 24 h over): the later one goes out once it is due.
    await ctx.prisma.webhookDelivery.updateMany({
      where: { fundingSourceId: source.id },
      data: { nextAttemptAt: new Date(Date.now() - 1_000) },
    });
    const [again] = await claimOurs([source.id]);
    expect(again.id).toBe(all[0].id);
    await ctx.webhookDeliveries.markAttemptFailed(again, { responseStatus: 500, error: 'HTTP 500' }, null);
    const next = await claimOurs([source.id]);
    expect(next.map((d) => d.id)).toEqual([all[1].id]);
  });

  it('gives each due delivery to one of several claimers at once', async () => {
    const items = await Promise.all(Array.from({ length: 6 }, () => ctx.newLinkedItem({ accounts: 2 })));
    const ids = items.flatMap((item) => item.fundingSources.map((s) => s.id));
    const claims = await Promise.all(Array.from({ length: 4 }, () => claimOurs(ids)));
    const claimed = claims.flat().map((d) => d.id);
    expect(claimed).toHaveLength(12);
    expect(new Set(claimed).size).toBe(12);
  });

  it("takes over a claim whose instance died, and ignores the dead claimer's late outcome", async () => {
    const [source] = (await ctx.newLinkedItem()).fundingSources;
    const [dead] = await claimOurs([source.id], 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [taken] = await claimOurs([source.id]);
    expect(taken).toMatchObject({ id: dead.id, attempts: 2 });

    await ctx.webhookDeliveries.markAttemptFailed(dead, { responseStatus: null, error: 'late' }, null);
    const [row] = await deliveriesOf([source.id]);
    expect(row).toMatchObject({ status: 'pending', attempts: 2, lastError: null });
    await ctx.webhookDeliveries.markDelivered(taken, 204);
    expect((await deliveriesOf([source.id]))[0]).toMatchObject({
      status: 'delivered',
      lastResponseStatus: 204,
    });
  });

  it('claims only deliveries to the receivers it is given', async () => {
    const [source] = (await ctx.newLinkedItem()).fundingSources;
    const elsewhere = await ctx.webhookDeliveries.claimDue(
      ['https://elsewhere.example/hooks'],
      1_000,
      LEASE_MS,
    );
    expect(elsewhere.map((d) => d.id)).not.toContain((await deliveriesOf([source.id]))[0].id);
  });

  it('requeues a failed or delivered delivery with a fresh window, and refuses a pending one', async () => {
    const [source] = (await ctx.newLinkedItem()).fundingSources;
    const [pending] = await deliveriesOf([source.id]);
    expect(await ctx.webhookDeliveries.requeue(pending.id, 86_400_000)).toEqual({ kind: 'pending' });
    const [claimed] = await claimOurs([source.id]);
    await ctx.webhookDeliveries.markAttemptFailed(claimed, { responseStatus: 410, error: 'HTTP 410' }, null);

    const requeued = await ctx.webhookDeliveries.requeue(pending.id, 86_400_000);
    expect(requeued).toMatchObject({
      kind: 'requeued',
      delivery: {
        id: pending.id,
        status: 'pending',
        attempts: 0,
        lastResponseStatus: 410,
        eventId: pending.eventId,
      },
    });
    expect(await ctx.webhookDeliveries.requeue('00000000-0000-4000-8000-000000000000', 1)).toEqual({
      kind: 'not-found',
    });
  });

  it('refuses to requeue an event a later one supersedes, also once the later delivery is gone', async () => {
    const linked = await ctx.newLinkedItem();
    const [source] = linked.fundingSources;
    const [linkedClaim] = await claimOurs([source.id]);
    await ctx.webhookDeliveries.markAttemptFailed(
      linkedClaim,
      { responseStatus: 503, error: 'HTTP 503' },
      null,
    );
    await syncStatus(linked, 'ERROR');
    const [changedClaim] = await claimOurs([source.id]);
    await ctx.webhookDeliveries.markDelivered(changedClaim, 200);

    expect(await ctx.webhookDeliveries.requeue(linkedClaim.id, 86_400_000)).toEqual({ kind: 'superseded' });
    // The latest event is the one that can go again.
    expect(await ctx.webhookDeliveries.requeue(changedClaim.id, 86_400_000)).toMatchObject({
      kind: 'requeued',
      delivery: { id: changedClaim.id, status: 'pending' },
    });
    // The retention sweep removes delivered rows first: the older failed one is still superseded.
    await ctx.prisma.webhookDelivery.delete({ where: { id: changedClaim.id } });
    expect(await ctx.webhookDeliveries.requeue(linkedClaim.id, 86_400_000)).toEqual({ kind: 'superseded' });
    expect(await deliveriesOf([source.id])).toEqual([
      expect.objectContaining({ id: linkedClaim.id, status: 'failed', attempts: 1, lastResponseStatus: 503 }),
    ]);
  });
});
