// The retention sweep on a real database: it removes exactly what it should, the rest still works, and
// two instances sweeping at once do the work once.
import { createHash, randomUUID } from 'node:crypto';
import { ScheduledJobsRepository } from '../../src/jobs/scheduled-jobs.repository';
import { RetentionRepository } from '../../src/retention/retention.repository';
import { RETENTION_JOB, RetentionService } from '../../src/retention/retention.service';
import { ADMIN_CALLER, MediumContext } from './medium-context';

describe('retention sweep on a real database', () => {
  let ctx: MediumContext;
  const HASH = 'a'.repeat(64);

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const newSweeper = () =>
    new RetentionService(new RetentionRepository(ctx.prisma), new ScheduledJobsRepository(ctx.prisma), {
      ...ctx.config,
      retentionSweepSeconds: 3_600,
    });
  // Each test starts with a sweep due; rows other spec files leave on a shared PostgreSQL only add counts.
  beforeEach(() => ctx.prisma.scheduledJob.deleteMany({ where: { name: RETENTION_JOB } }));

  it('removes expired idempotency keys and keeps the others, which still replay', async () => {
    const subject = `user_${randomUUID()}`;
    const inOneDay = new Date(Date.now() + 86_400_000);
    await ctx.idempotency.start(subject, 'expired', HASH, new Date(Date.now() - 1_000), new Date(0));
    await ctx.idempotency.start(subject, 'live', HASH, inOneDay, new Date(0));
    await ctx.idempotency.complete(subject, 'live', 201, { kept: true });

    const result = await newSweeper().sweep();
    expect(result.idempotencyKeys).toBeGreaterThanOrEqual(1);
    const left = await ctx.prisma.idempotencyKey.findMany({ where: { subject }, select: { key: true } });
    expect(left.map((row) => row.key)).toEqual(['live']);
    await expect(ctx.idempotency.start(subject, 'live', HASH, inOneDay, new Date(0))).resolves.toEqual({
      kind: 'replay',
      status: 201,
      body: { kept: true },
    });
  });

  it("drops a day-old exchange's stored response, keeps a fresh one, and still refuses the old token", async () => {
    const user = await ctx.newUser();
    const bluumItem = ctx.bluumItem();
    const service = ctx.connects({ exchangePublicToken: () => Promise.resolve(bluumItem) });
    const old = `public-old-${randomUUID()}`;
    const fresh = `public-fresh-${randomUUID()}`;
    await service.connect(user.id, old, ADMIN_CALLER);
    await service.connect(user.id, fresh, ADMIN_CALLER);
    await ctx.prisma.publicTokenExchange.updateMany({
      where: { userId: user.id, completedAt: { not: null } },
      data: { completedAt: new Date(Date.now() - 25 * 3_600_000) },
    });
    // Only the first is old: the second completed an hour ago.
    await ctx.prisma.publicTokenExchange.update({
      where: { tokenHash: createHash('sha256').update(fresh).digest('hex') },
      data: { completedAt: new Date(Date.now() - 3_600_000) },
    });

    const result = await newSweeper().sweep();
    expect(result.exchangeResponses).toBeGreaterThanOrEqual(1);
    const rows = await ctx.prisma.publicTokenExchange.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(2);
    expect(rows.filter((row) => row.response === null)).toHaveLength(1);

    await expect(service.connect(user.id, old, ADMIN_CALLER)).rejects.toMatchObject({
      code: 'PUBLIC_TOKEN_REJECTED',
    });
    await expect(service.connect(user.id, fresh, ADMIN_CALLER)).resolves.toMatchObject({ replayed: true });
  });

  it('removes rate-limit windows older than an hour and keeps the current one', async () => {
    const subject = `write:${randomUUID()}`;
    await ctx.prisma.$executeRaw`
      INSERT INTO rate_limit_counters (subject, window_start, count) VALUES
        (${subject}, date_trunc('minute', now()) - interval '2 hours', 5),
        (${subject}, date_trunc('minute', now()) - interval '30 minutes', 4),
        (${subject}, date_trunc('minute', now()), 1)`;
    const result = await newSweeper().sweep();
    expect(result.rateLimitWindows).toBeGreaterThanOrEqual(1);
    const left = await ctx.prisma.rateLimitCounter.findMany({
      where: { subject },
      orderBy: { windowStart: 'asc' },
    });
    expect(left.map((row) => row.count)).toEqual([4, 1]);
  });

  it('removes week-old delivered and month-old failed webhook deliveries, and pending ones nobody claims', async () => {
    const [source] = (await ctx.newLinkedItem({ accounts: 1 })).fundingSources;
    const [template] = await ctx.prisma.webhookDelivery.findMany({ where: { fundingSourceId: source.id } });
    const fields = {
      eventId: template.eventId,
      eventType: template.eventType,
      fundingSourceId: template.fundingSourceId,
      sequence: template.sequence,
      url: template.url,
      payload: template.payload,
      giveUpAt: template.giveUpAt,
    };
    const daysAgo = (days: number): Date => new Date(Date.now() - days * 86_400_000);
    const rows = [
      ['delivered', 8, 'gone'],
      ['delivered', 6, 'kept'],
      ['failed', 31, 'gone'],
      ['failed', 29, 'kept'],
      // Queued long ago but sent again by hand: its retries go on.
      ['pending', 400, 'kept'],
      // Never claimed (its receiver left WEBHOOK_URLS), its 24 h of retries over for more than 30 days.
      ['pending', 32, 'gone'],
    ] as const;
    const ids: string[] = [];
    for (const [status, age, fate] of rows) {
      const giveUpAt = status === 'pending' && fate === 'gone' ? daysAgo(age - 1) : fields.giveUpAt;
      const row = await ctx.prisma.webhookDelivery.create({
        data: { ...fields, giveUpAt, status, createdAt: daysAgo(age) },
      });
      ids.push(row.id);
    }

    const result = await newSweeper().sweep();
    expect(result.webhookDeliveries).toBeGreaterThanOrEqual(2);
    const left = new Set(
      (await ctx.prisma.webhookDelivery.findMany({ where: { id: { in: ids } } })).map((row) => row.id),
    );
    expect(rows.map((row, i) => [row[0], row[1], left.has(ids[i]) ? 'kept' : 'gone'])).toEqual(
      rows.map(([status, age, fate]) => [status, age, fate]),
    );
  });

  it('sweeps in batches until nothing is left', async () => {
    const subject = `user_${randomUUID()}`;
    await ctx.prisma.idempotencyKey.createMany({
      data: Array.from({ length: 2_500 }, (_, i) => ({
        subject,
        key: `k${i}`,
        requestHash: HASH,
        expiresAt: new Date(Date.now() - 1_000),
      })),
    });
    await newSweeper().sweep();
    expect(await ctx.prisma.idempotencyKey.count({ where: { subject } })).toBe(0);
  });

  it('runs once when two instances find it due at the same time, and not again before the interval', async () => {
    const subject = `user_${randomUUID()}`;
    await ctx.idempotency.start(subject, 'expired', HASH, new Date(Date.now() - 1_000), new Date(0));
    const [first, second] = await Promise.all([newSweeper().runIfDue(), newSweeper().runIfDue()]);
    expect([first, second].filter((result) => result !== null)).toHaveLength(1);
    expect(await ctx.prisma.idempotencyKey.count({ where: { subject } })).toBe(0);

    await expect(newSweeper().runIfDue()).resolves.toBeNull();
    const job = await ctx.prisma.scheduledJob.findUniqueOrThrow({ where: { name: RETENTION_JOB } });
    expect(job.leaseUntil).toBeNull();
    expect(job.nextRunAt.getTime()).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('lets a run whose instance died be taken over once its lease expires', async () => {
    const jobs = new ScheduledJobsRepository(ctx.prisma);
    const first = await jobs.claimLease('medium-job', 0, 60_000);
    expect(first).not.toBeNull();
    // Due again (interval 0) but leased: nobody else may run it.
    expect(await jobs.claimLease('medium-job', 0, 60_000)).toBeNull();
    await ctx.prisma.scheduledJob.update({
      where: { name: 'medium-job' },
      data: { leaseUntil: new Date(Date.now() - 1_000) },
    });
    const second = await jobs.claimLease('medium-job', 0, 60_000);
    expect(second).not.toBeNull();
    // The first holder, late, cannot end the run that was taken over; its holder can.
    await jobs.release('medium-job', first as string);
    expect(await jobs.claimLease('medium-job', 0, 60_000)).toBeNull();
    await jobs.release('medium-job', second as string);
    expect(await jobs.claimLease('medium-job', 0, 60_000)).not.toBeNull();
  });
});
