// The admin listing of deliveries, on a strict fake of its repository: the page it asks for, the cursor
// it hands out and takes back, and the cursors it refuses before any query (every cursor rule is
// src/funding-sources/page-cursor.spec.ts's; the listing on real rows is the outbox's medium spec).
import { strictFake } from '../../test/support/controller-app';
import type { WebhookDeliveriesRepository, WebhookDeliveryRecord } from './webhook-deliveries.repository';
import { WebhookDeliveriesService } from './webhook-deliveries.service';

const delivery = (n: number): WebhookDeliveryRecord => ({
  id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  eventId: `10000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
  eventType: 'funding_source.linked',
  fundingSourceId: '20000000-0000-4000-8000-000000000000',
  url: 'https://hooks.example.com/in?token=secret',
  status: 'delivered',
  attempts: 1,
  nextAttemptAt: new Date('2026-01-22T10:00:00.000Z'),
  giveUpAt: new Date('2026-01-23T10:00:00.000Z'),
  lastAttemptAt: new Date('2026-01-22T10:00:01.000Z'),
  lastResponseStatus: 200,
  lastError: null,
  deliveredAt: new Date('2026-01-22T10:00:01.000Z'),
  createdAt: new Date(Date.parse('2026-01-22T10:00:00.000Z') - n * 1000),
});

describe('WebhookDeliveriesService.list', () => {
  const listPage = jest.fn((filter: { limit: number }) =>
    Promise.resolve(Array.from({ length: filter.limit }, (_, i) => delivery(i + 1))),
  );
  const sut = new WebhookDeliveriesService(
    strictFake<WebhookDeliveriesRepository>('WebhookDeliveriesRepository', { listPage }),
  );
  beforeEach(() => listPage.mockClear());

  it('asks for a page of 50 and one more, and hands out the cursor of its last row', async () => {
    const page = await sut.list({});
    expect(listPage).toHaveBeenCalledWith({ status: undefined, limit: 51, after: undefined });
    expect(page.data).toHaveLength(50);
    // The receiver's origin and path only: its query may carry the receiver's own token.
    expect(page.data[0].url).toBe('https://hooks.example.com/in');
    expect(page.nextCursor).toEqual(expect.any(String));

    await sut.list({ status: 'delivered', limit: 2, cursor: page.nextCursor as string });
    expect(listPage).toHaveBeenLastCalledWith({
      status: 'delivered',
      limit: 3,
      after: { createdAt: delivery(50).createdAt, id: delivery(50).id },
    });
  });

  it.each([
    [
      "a date outside PostgreSQL's range",
      ['-271821-04-20T00:00:00.000Z', '00000000-0000-4000-8000-000000000001'],
    ],
    [
      "a snapshot (only the funding-source listing's cursors carry one)",
      ['2026-01-22T10:00:00.000Z', '00000000-0000-4000-8000-000000000001', '5:10:'],
    ],
  ])('refuses a cursor with %s as 400 VALIDATION_FAILED, before any query', async (_name, fields) => {
    const cursor = Buffer.from(JSON.stringify(fields)).toString('base64url');
    await expect(sut.list({ cursor })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      details: [expect.objectContaining({ field: 'cursor' })],
    });
    expect(listPage).not.toHaveBeenCalled();
  });
});
