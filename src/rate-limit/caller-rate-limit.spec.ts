import { FakeClock } from '../../test/support/fake-clock';
import { Principal } from '../auth/principal';
import { configSlice, loadConfig } from '../config/app-config';
import { CallerRateLimit } from './caller-rate-limit';
import type { RateLimitRepository } from './rate-limit.repository';

const http = configSlice(
  loadConfig({
    NODE_ENV: 'test',
    REQUEST_RATE_LIMIT_PER_MINUTE: '5',
    SERVICE_REQUEST_RATE_LIMIT_PER_MINUTE: '8',
  }),
  'http',
);
const user = new Principal('bob', false, '');
const service = new Principal('bob', false, 'funding-sources:read', true);
const admin = new Principal('ops', true, '');
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** PostgreSQL's shared counts, as one table every instance adds to; `down` makes every flush fail. */
class SharedCounts {
  readonly totals = new Map<string, number>();
  readonly flushes: Array<Map<string, number>> = [];
  down = false;

  addHits(window: Date, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    if (this.down) return Promise.reject(new Error('connection refused'));
    this.flushes.push(new Map(counts));
    const answer = new Map<string, number>();
    for (const [subject, count] of counts) {
      const key = `${window.toISOString()} ${subject}`;
      this.totals.set(key, (this.totals.get(key) ?? 0) + count);
      answer.set(subject, this.totals.get(key) ?? 0);
    }
    return Promise.resolve(answer);
  }
}

function instance(shared: SharedCounts, clock: FakeClock): CallerRateLimit {
  return new CallerRateLimit(shared as unknown as RateLimitRepository, http, clock);
}

describe('CallerRateLimit', () => {
  it("refuses an end user's sixth request of a minute, with the seconds left in it", async () => {
    const clock = new FakeClock(Date.parse('2026-01-22T10:00:15.000Z'));
    const limit = instance(new SharedCounts(), clock);
    for (let n = 1; n <= 5; n += 1) expect(limit.hit(user)).toEqual({ allowed: true });
    expect(limit.hit(user)).toEqual({ allowed: false, limit: 5, retryAfterSeconds: 45 });
    // A new minute is a new budget.
    clock.advance(45_000);
    await settle();
    expect(limit.hit(user)).toEqual({ allowed: true });
  });

  it('gives services and admins their own, larger budget, apart from a user of the same name', () => {
    const limit = instance(new SharedCounts(), new FakeClock());
    for (let n = 1; n <= 5; n += 1) limit.hit(user);
    expect(limit.hit(user).allowed).toBe(false);
    for (let n = 1; n <= 8; n += 1) expect(limit.hit(service)).toEqual({ allowed: true });
    expect(limit.hit(service)).toMatchObject({ allowed: false, limit: 8 });
    expect(limit.hit(admin)).toEqual({ allowed: true });
  });

  it("adds its counts to the shared ones at most once a second, and counts the other instances'", async () => {
    const shared = new SharedCounts();
    const clock = new FakeClock(Date.parse('2026-01-22T10:00:00.000Z'));
    const a = instance(shared, clock);
    const b = instance(shared, clock);
    a.hit(user); // flushes at once: 1
    a.hit(user);
    a.hit(user); // counted here, not yet shared
    await settle();
    expect(shared.flushes).toHaveLength(1);
    clock.advance(1_000);
    b.hit(user); // b's flush learns a's first: shared 2
    await settle();
    clock.advance(1_000);
    a.hit(user); // a adds its three since: shared 5
    await settle();
    expect([...shared.totals.values()]).toEqual([5]);
    // b knows of 2 (and its own nothing since): its next is the 3rd it sees, allowed; its flush then learns 6.
    clock.advance(1_000);
    expect(b.hit(user)).toEqual({ allowed: true });
    await settle();
    expect(b.hit(user)).toMatchObject({ allowed: false });
  });

  it('holds the line on its own counts while the database is away, and shares them once it is back', async () => {
    const shared = new SharedCounts();
    shared.down = true;
    const clock = new FakeClock();
    const limit = instance(shared, clock);
    for (let n = 1; n <= 5; n += 1) {
      expect(limit.hit(user)).toEqual({ allowed: true });
      await settle();
      clock.advance(1_000);
    }
    expect(limit.hit(user).allowed).toBe(false);
    shared.down = false;
    await settle();
    clock.advance(1_000);
    limit.hit(user);
    await settle();
    // None lost: all seven were added once the database answered.
    expect([...shared.totals.values()]).toEqual([7]);
  });
});
