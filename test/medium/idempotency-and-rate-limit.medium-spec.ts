// The idempotency and rate-limit repositories on a real database: the states a key goes through, and
// counting that holds under concurrent hits.
import { randomUUID } from 'node:crypto';
import { MediumContext } from './medium-context';

describe('idempotency keys and rate limits on a real database', () => {
  let ctx: MediumContext;

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const HASH = 'a'.repeat(64);
  const OTHER_HASH = 'b'.repeat(64);
  const inOneDay = () => new Date(Date.now() + 86_400_000);
  const longAgo = () => new Date(Date.now() - 60_000);

  describe('IdempotencyRepository', () => {
    const key = () => ({ subject: `user_${randomUUID()}`, key: randomUUID() });

    it.each([
      ['the first use', [], HASH, { kind: 'started' }],
      ['the same request while the first runs', ['start'], HASH, { kind: 'in-flight' }],
      ['another request while the first runs', ['start'], OTHER_HASH, { kind: 'mismatch' }],
      [
        'the same request once answered',
        ['start', 'complete'],
        HASH,
        { kind: 'replay', status: 201, body: { ok: 1 } },
      ],
      ['another request once answered', ['start', 'complete'], OTHER_HASH, { kind: 'mismatch' }],
      ['the same request once released (a 5xx)', ['start', 'release'], HASH, { kind: 'started' }],
      [
        'the same request after an expired answer',
        ['start-expired', 'complete'],
        OTHER_HASH,
        { kind: 'started' },
      ],
      ['the same request after its first died mid-way', ['start-stale'], HASH, { kind: 'started' }],
    ] as const)('%s is %j', async (_name, history, hash, expected) => {
      const { subject, key: k } = key();
      for (const step of history) {
        if (step === 'start') await ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo());
        if (step === 'start-expired')
          await ctx.idempotency.start(subject, k, HASH, new Date(Date.now() - 1), longAgo());
        if (step === 'start-stale') {
          await ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo());
          await ctx.prisma.idempotencyKey.update({
            where: { subject_key: { subject, key: k } },
            data: { createdAt: new Date(Date.now() - 120_000) },
          });
        }
        if (step === 'complete') await ctx.idempotency.complete(subject, k, 201, { ok: 1 });
        if (step === 'release') await ctx.idempotency.release(subject, k);
      }
      await expect(ctx.idempotency.start(subject, k, hash, inOneDay(), longAgo())).resolves.toEqual(expected);
    });

    it('scopes a key to its subject', async () => {
      const { subject, key: k } = key();
      await ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo());
      await ctx.idempotency.complete(subject, k, 201, { ok: 1 });
      await expect(
        ctx.idempotency.start(`${subject}_2`, k, OTHER_HASH, inOneDay(), longAgo()),
      ).resolves.toEqual({
        kind: 'started',
      });
    });

    it('gives one of many concurrent first uses the key, and the others in-flight', async () => {
      const { subject, key: k } = key();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo())),
      );
      expect(results.filter((r) => r.kind === 'started')).toHaveLength(1);
      expect(results.filter((r) => r.kind === 'in-flight')).toHaveLength(4);
    });

    it('never overwrites an answer already kept, nor releases it', async () => {
      const { subject, key: k } = key();
      await ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo());
      await ctx.idempotency.complete(subject, k, 201, { first: true });
      await ctx.idempotency.complete(subject, k, 500, { second: true });
      await ctx.idempotency.release(subject, k);
      await expect(ctx.idempotency.start(subject, k, HASH, inOneDay(), longAgo())).resolves.toEqual({
        kind: 'replay',
        status: 201,
        body: { first: true },
      });
    });
  });

  describe('RateLimitRepository', () => {
    it('counts every hit of a subject in the current minute, concurrent ones included, and no other subject', async () => {
      const subject = `write:${randomUUID()}`;
      const hits = await Promise.all(Array.from({ length: 10 }, () => ctx.rateLimits.hit(subject)));
      expect(hits.map((hit) => hit.count).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      for (const hit of hits) {
        expect(hit.secondsLeft).toBeGreaterThanOrEqual(1);
        expect(hit.secondsLeft).toBeLessThanOrEqual(60);
      }
      expect((await ctx.rateLimits.hit(`write:${randomUUID()}`)).count).toBe(1);
    });

    it("clears the subject's windows older than two minutes, and keeps the last one", async () => {
      const subject = `write:${randomUUID()}`;
      await ctx.prisma.$executeRaw`
        INSERT INTO rate_limit_counters (subject, window_start, count) VALUES
          (${subject}, date_trunc('minute', now()) - interval '10 minutes', 7),
          (${subject}, date_trunc('minute', now()) - interval '1 minute', 3)`;
      expect((await ctx.rateLimits.hit(subject)).count).toBe(1);
      const windows = await ctx.prisma.rateLimitCounter.findMany({
        where: { subject },
        orderBy: { windowStart: 'asc' },
      });
      expect(windows.map((w) => w.count)).toEqual([3, 1]);
    });
  });
});
