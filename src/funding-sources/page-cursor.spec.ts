import { decodeCursor, isPgSnapshot, toPage } from './page-cursor';

const row = (i: number) => ({
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
  id: `00000000-0000-4000-8000-00000000000${i}`,
});

const AT = '2026-01-01T00:00:00.000Z';
const ID = '00000000-0000-4000-8000-000000000001';
const cursorOf = (fields: unknown) => Buffer.from(JSON.stringify(fields)).toString('base64url');

describe('page cursors', () => {
  it('cuts limit + 1 rows into a page and a cursor that decodes to the last row of the page', () => {
    const rows = [row(3), row(2), row(1)];
    const { page, nextCursor } = toPage(rows, 2, (r) => r);
    expect(page).toEqual([row(3), row(2)]);
    expect(decodeCursor(nextCursor!)).toEqual(row(2));
  });

  it("carries the listing's snapshot when the page has one", () => {
    const { nextCursor } = toPage([row(3), row(2)], 1, (r) => ({ ...r, snapshot: '740:745:741,743' }));
    expect(decodeCursor(nextCursor!, { withSnapshot: true })).toEqual({
      ...row(3),
      snapshot: '740:745:741,743',
    });
  });

  it('has no cursor on the last page', () => {
    expect(toPage([row(1), row(2)], 2, (r) => r).nextCursor).toBeNull();
    expect(toPage([], 5, (r: ReturnType<typeof row>) => r)).toEqual({ page: [], nextCursor: null });
  });

  it.each([
    ['the first year', '0001-01-01T00:00:00.000Z'],
    ['the last year', '9999-12-31T23:59:59.999Z'],
  ])('takes a date in %s', (_name, at) => {
    expect(decodeCursor(cursorOf([at, ID])).createdAt.toISOString()).toBe(at);
  });

  it.each([
    ['not base64 JSON', '%%%'],
    ['an object', cursorOf({ a: 1 })],
    ['a bad date', cursorOf(['yesterday', ID])],
    ['a date that is not a string', cursorOf([0, ID])],
    ['a date that does not exist', cursorOf(['2026-02-30T00:00:00.000Z', ID])],
    ['a date not written as toISOString writes it', cursorOf(['2026-01-01T00:00:00Z', ID])],
    ["a date after PostgreSQL's and JavaScript's range", cursorOf(['+275760-09-13T00:00:00.000Z', ID])],
    ["a date before PostgreSQL's range", cursorOf(['-271821-04-20T00:00:00.000Z', ID])],
    ['year 0, which PostgreSQL does not have', cursorOf(['0000-06-01T00:00:00.000Z', ID])],
    ['a bad id', cursorOf([AT, '1 OR 1=1'])],
    ['an id that is not a string', cursorOf([AT, 1])],
    ['a bad snapshot', cursorOf([AT, ID, '1:2:3);DROP'])],
    ['four fields', cursorOf([AT, ID, '1:2:', 'x'])],
  ])('refuses %s with VALIDATION_FAILED on the cursor field', (_name, cursor) => {
    expect(() => decodeCursor(cursor, { withSnapshot: true })).toThrow(
      expect.objectContaining({
        code: 'VALIDATION_FAILED',
        details: [expect.objectContaining({ field: 'cursor' })],
      }),
    );
  });

  it('refuses a snapshot on a listing whose cursors never carry one', () => {
    const cursor = cursorOf([AT, ID, '740:745:']);
    expect(decodeCursor(cursor, { withSnapshot: true }).snapshot).toBe('740:745:');
    expect(() => decodeCursor(cursor)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  // Each row was checked against PostgreSQL's pg_snapshot input: what it refuses is refused here.
  it.each([
    ['xmin = xmax, nothing in progress', '740:740:', true],
    ['in-progress ids in [xmin, xmax), ascending', '740:745:740,741,744', true],
    ['the largest 64-bit id', '18446744073709551615:18446744073709551615:', true],
    ['an id whose low 32 bits are not 0', '4294967297:4294967297:', true],
    ['xmax before xmin', '10:5:', false],
    ['an in-progress id before xmin', '5:10:3', false],
    ['an in-progress id at xmax', '5:10:10', false],
    ['in-progress ids out of order', '5:10:7,6', false],
    ['an in-progress id twice', '5:10:6,6', false],
    ['xmin 0', '0:1:', false],
    ['xmin whose low 32 bits are 0 (2^32)', '4294967296:4294967296:', false],
    ['xmax whose low 32 bits are 0 (2^63)', '1:9223372036854775808:', false],
    ['an id past 2^64 - 1', '18446744073709551616:18446744073709551616:', false],
    ['a leading zero', '05:10:', false],
    ['a sign', '+5:10:', false],
    ['no third colon', '5:10', false],
    ['a trailing comma', '5:10:6,', false],
    ['spaces', '5: 10:', false],
    ['101 in-progress ids', `1:200:${Array.from({ length: 101 }, (_, i) => i + 1).join(',')}`, false],
  ])('snapshot with %s: %s → %s', (_name, snapshot, accepted) => {
    expect(isPgSnapshot(snapshot)).toBe(accepted);
    const decode = () => decodeCursor(cursorOf([AT, ID, snapshot]), { withSnapshot: true });
    if (accepted) expect(decode().snapshot).toBe(snapshot);
    else expect(decode).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});
