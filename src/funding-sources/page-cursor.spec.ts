import { decodeCursor, toPage } from './page-cursor';

const row = (i: number) => ({
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  id: `00000000-0000-4000-8000-00000000000${i}`,
});

describe('page cursors', () => {
  it('cuts limit + 1 rows into a page and a cursor that decodes to the last row of the page', () => {
    const rows = [row(3), row(2), row(1)];
    const { page, nextCursor } = toPage(rows, 2, (r) => r);
    expect(page).toEqual([row(3), row(2)]);
    expect(decodeCursor(nextCursor!)).toEqual(row(2));
  });

  it("carries the listing's snapshot when the page has one", () => {
    const { nextCursor } = toPage([row(3), row(2)], 1, (r) => ({ ...r, snapshot: '740:745:741,743' }));
    expect(decodeCursor(nextCursor!)).toEqual({ ...row(3), snapshot: '740:745:741,743' });
  });

  it('has no cursor on the last page', () => {
    expect(toPage([row(1), row(2)], 2, (r) => r).nextCursor).toBeNull();
    expect(toPage([], 5, (r: ReturnType<typeof row>) => r)).toEqual({ page: [], nextCursor: null });
  });

  it.each([
    ['not base64 JSON', '%%%'],
    ['an object', Buffer.from('{"a":1}').toString('base64url')],
    ['a bad date', Buffer.from('["yesterday","00000000-0000-4000-8000-000000000001"]').toString('base64url')],
    ['a bad id', Buffer.from('["2026-01-01T00:00:00.000Z","1 OR 1=1"]').toString('base64url')],
    [
      'a bad snapshot',
      Buffer.from(
        '["2026-01-01T00:00:00.000Z","00000000-0000-4000-8000-000000000001","1:2:3);DROP"]',
      ).toString('base64url'),
    ],
    [
      'four fields',
      Buffer.from('["2026-01-01T00:00:00.000Z","00000000-0000-4000-8000-000000000001","1:2:","x"]').toString(
        'base64url',
      ),
    ],
  ])('refuses %s with VALIDATION_FAILED on the cursor field', (_name, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        details: [expect.objectContaining({ field: 'cursor' })],
      }),
    );
  });
});
