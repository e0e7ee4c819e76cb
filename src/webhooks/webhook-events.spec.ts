import { readFileSync } from 'node:fs';
import type { FundingSource } from '../funding-sources/funding-source';
import {
  nextAttempt,
  receiverForDisplay,
  WEBHOOK_RETRY_WINDOW_MS,
  webhookEventType,
  webhookPayload,
} from './webhook-events';

describe('webhookEventType', () => {
  it.each([
    ['linked', 'funding_source.linked'],
    ['status_changed', 'funding_source.status_changed'],
    ['disconnected', 'funding_source.disconnected'],
    ['updated', null],
  ] as const)('publishes the audit event %s as %s', (auditType, published) => {
    expect(webhookEventType(auditType)).toBe(published);
  });
});

describe('webhookPayload', () => {
  it('is { type, timestamp, sequence, data } with the funding source as the API answers it', () => {
    const data = { id: 'fs-1', status: 'error' } as unknown as FundingSource;
    const body = webhookPayload(
      'funding_source.status_changed',
      new Date('2026-11-29T10:00:00.000Z'),
      3,
      data,
    );
    expect(body).toBe(
      '{"type":"funding_source.status_changed","timestamp":"2026-11-29T10:00:00.000Z","sequence":3,' +
        '"data":{"id":"fs-1","status":"error"}}',
    );
  });
});

describe('receiverForDisplay', () => {
  it.each([
    ['https://deposits.internal/hooks', 'https://deposits.internal/hooks'],
    ['https://ledger.internal/bluum?token=s3cr3t&src=links', 'https://ledger.internal/bluum'],
    ['https://ledger.internal:8443/a/b/#token=s3cr3t', 'https://ledger.internal:8443/a/b/'],
    ['http://127.0.0.1:4000/?t=s3cr3t', 'http://127.0.0.1:4000/'],
  ])('shows %s as %s: origin and path, never the query or fragment', (url, shown) => {
    expect(receiverForDisplay(url)).toBe(shown);
  });
});

describe('nextAttempt', () => {
  const now = new Date('2026-11-29T10:00:00.000Z');
  const later = (ms: number): Date => new Date(now.getTime() + ms);
  const giveUpAt = later(WEBHOOK_RETRY_WINDOW_MS);
  const noJitter = (): number => 0;

  it.each([
    [1, 5_000],
    [2, 10_000],
    [3, 20_000],
    [8, 640_000],
    // Capped at an hour, however many attempts failed.
    [11, 3_600_000],
    [200, 3_600_000],
  ])('after failed attempt %i retries %i ms later', (attempts, delay) => {
    expect(nextAttempt(attempts, 5_000, now, giveUpAt, noJitter)).toEqual({ retryAt: later(delay) });
  });

  it('retries the first failure within about 10 s, jitter only ever bringing it sooner', () => {
    const { retryAt } = nextAttempt(1, 5_000, now, giveUpAt, () => 0.999) as { retryAt: Date };
    expect(retryAt.getTime() - now.getTime()).toBeGreaterThanOrEqual(4_500);
    expect(retryAt.getTime() - now.getTime()).toBeLessThanOrEqual(5_000);
  });

  it('gives up when the retry would come after the 24 h window, not before', () => {
    expect(nextAttempt(1, 5_000, now, later(5_000), noJitter)).toEqual({ retryAt: later(5_000) });
    expect(nextAttempt(1, 5_000, now, later(4_999), noJitter)).toBe('give-up');
  });

  it('spends about 24 h from the first attempt to giving up, with the first retries close together', () => {
    let at = now;
    const retries: number[] = [];
    for (let attempts = 1; ; attempts++) {
      const next = nextAttempt(attempts, 5_000, at, giveUpAt, noJitter);
      if (next === 'give-up') break;
      retries.push(next.retryAt.getTime() - now.getTime());
      at = next.retryAt;
    }
    expect(retries.slice(0, 3)).toEqual([5_000, 15_000, 35_000]);
    expect(retries.at(-1)).toBeGreaterThan(WEBHOOK_RETRY_WINDOW_MS - 3_600_000);
    expect(retries.length).toBeLessThan(40);
  });
});

// test/webhooks.e2e-spec.ts runs docs/webhook-receiver.mjs against the service; receivers copy it from
// docs/deposit-services.md, so that page must show the file that was run.
describe('the receiver example', () => {
  it('is in docs/deposit-services.md word for word', () => {
    expect(readFileSync('docs/deposit-services.md', 'utf8')).toContain(
      readFileSync('docs/webhook-receiver.mjs', 'utf8'),
    );
  });
});
