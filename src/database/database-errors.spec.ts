import { isDatabaseUnavailable, isUniqueViolation, markFromDatabase } from './database-errors';

// What pg and its pool throw, as pg-pool.ts and PrismaService mark it where they call them.
const fromPg = <T extends object>(error: T): T => markFromDatabase(error);
const pgError = (code: string) => fromPg(Object.assign(new Error('pg'), { code, severity: 'ERROR' }));
// What Prisma's client throws: its errors carry clientVersion.
const prisma = (message: string, fields: object) =>
  Object.assign(new Error(message), { clientVersion: '6.19.3' }, fields);

describe('isDatabaseUnavailable', () => {
  it.each([
    ['statement timeout (57014)', pgError('57014')],
    ['lock timeout (55P03)', pgError('55P03')],
    ['server shutting down (57P01)', pgError('57P01')],
    ['too many connections (53300)', pgError('53300')],
    ['connection failure (08006)', pgError('08006')],
    ['refused socket', fromPg(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))],
    ['pool acquire timeout', fromPg(new Error('timeout exceeded when trying to connect'))],
    ['frozen link', fromPg(new Error('Query read timeout'))],
    ['cut link', fromPg(new Error('Connection terminated unexpectedly'))],
    ['Prisma: transaction could not start (P2028)', prisma('x', { code: 'P2028' })],
    ['Prisma: server closed (P1017)', prisma('x', { code: 'P1017' })],
    [
      'Prisma raw query, closed connection in words',
      prisma('Raw query failed. Code: `N/A`. Message: `Server has closed the connection.`', {
        code: 'P2010',
      }),
    ],
    // As Prisma 6.19 with a driver adapter throws it from $queryRaw (measured).
    [
      'Prisma raw query, statement timeout in meta.driverAdapterError',
      prisma('Invalid `prisma.$queryRaw()` invocation:', {
        code: 'P2010',
        meta: {
          driverAdapterError: {
            name: 'DriverAdapterError',
            cause: {
              originalCode: '57014',
              kind: 'postgres',
              code: '57014',
              severity: 'ERROR',
              message: 'x',
            },
          },
        },
      }),
    ],
    [
      'Prisma raw query, lock timeout in meta.driverAdapterError',
      prisma('x', {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { originalCode: '55P03', kind: 'postgres', code: '55P03' } } },
      }),
    ],
    ['adapter kind in the cause', prisma('x', { cause: { kind: 'DatabaseNotReachable' } })],
    ['adapter postgres kind with 57014', prisma('x', { cause: { originalCode: '57014' } })],
    [
      "Prisma's driver adapter error",
      Object.assign(new Error('x'), { name: 'DriverAdapterError', cause: { kind: 'ConnectionClosed' } }),
    ],
    ['a pg error wrapped by our own code', new Error('wrapped', { cause: pgError('57P01') })],
  ])('%s: yes', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation (23505)', pgError('23505')],
    ['Prisma: record not found (P2025)', prisma('x', { code: 'P2025' })],
    [
      'Prisma raw query, a unique violation in meta.driverAdapterError',
      prisma('x', {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { originalCode: '23505', kind: 'postgres', code: '23505' } } },
      }),
    ],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    // Not from the database: a request body the client aborted, an HTTP call's reset, our own words.
    ['an aborted request body', Object.assign(new Error('aborted'), { code: 'ECONNRESET' })],
    ['a refused HTTP call', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    ['a SQLSTATE-looking code', Object.assign(new Error('x'), { code: '57P01' })],
    ['words alone', new Error('Connection terminated unexpectedly')],
    ['not an error', 'boom'],
    ['null', null],
  ])('%s: no', (_name, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });

  it('stops on a cause chain that loops', () => {
    const a: { message: string; cause?: unknown } = { message: 'a' };
    a.cause = a;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });
});

describe('isUniqueViolation', () => {
  it.each([
    ['PostgreSQL 23505', pgError('23505')],
    ['Prisma P2002', prisma('Unique constraint failed', { code: 'P2002' })],
    // As Prisma 6.19 with a driver adapter throws it from the model API (a racing update, measured).
    [
      'Prisma P2002 with the adapter error in meta.driverAdapterError',
      prisma('Unique constraint failed on the fields: (`bluum_account_id`)', {
        code: 'P2002',
        meta: {
          modelName: 'User',
          driverAdapterError: {
            name: 'DriverAdapterError',
            cause: {
              originalCode: '23505',
              kind: 'UniqueConstraintViolation',
              constraint: { fields: ['bluum_account_id'] },
            },
          },
        },
      }),
    ],
    [
      'a raw query (P2010) whose driver error is 23505',
      prisma('x', {
        code: 'P2010',
        meta: { driverAdapterError: { cause: { originalCode: '23505', kind: 'postgres', code: '23505' } } },
      }),
    ],
    ['23505 as the cause', Object.assign(new Error('x'), { cause: pgError('23505') })],
  ])('%s: yes', (_name, error) => {
    expect(isUniqueViolation(error)).toBe(true);
  });

  it.each([
    ['a foreign-key violation (23503)', pgError('23503')],
    ['a statement timeout (57014)', pgError('57014')],
    ['Prisma: record not found (P2025)', prisma('x', { code: 'P2025' })],
    ['a plain bug', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a 23505 that did not come from the database', Object.assign(new Error('x'), { code: '23505' })],
    ['null', null],
  ])('%s: no', (_name, error) => {
    expect(isUniqueViolation(error)).toBe(false);
  });
});
