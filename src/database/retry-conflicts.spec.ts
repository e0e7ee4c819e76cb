import { markFromDatabase } from './database-errors';
import { retryConflicts } from './prisma.service';

// As pg throws them (marked where the pool runs them), and as Prisma reports a conflict of its own.
const pgError = (code: string) => markFromDatabase(Object.assign(new Error(code), { code }));
const prismaConflict = () =>
  Object.assign(new Error('write conflict'), { code: 'P2034', clientVersion: '6' });

describe('retryConflicts', () => {
  const pauses: number[] = [];
  const sleep = (ms: number) => {
    pauses.push(ms);
    return Promise.resolve();
  };
  beforeEach(() => (pauses.length = 0));

  /** Work that fails with `failures` in turn, then answers 'done'. */
  const failing = (failures: Error[]) => {
    const work = jest.fn(() => {
      const next = failures.shift();
      return next ? Promise.reject(next) : Promise.resolve('done');
    });
    return work;
  };

  it.each([
    ['a deadlock (40P01)', () => pgError('40P01')],
    ['a serialization failure (40001)', () => pgError('40001')],
    ["Prisma's write conflict (P2034)", prismaConflict],
  ])(
    'runs the transaction again after %s, at most twice, after a short random pause',
    async (_name, make) => {
      const twice = failing([make(), make()]);
      await expect(retryConflicts(twice, sleep)).resolves.toBe('done');
      expect(twice).toHaveBeenCalledTimes(3);
      expect(pauses).toHaveLength(2);
      for (const ms of pauses) {
        expect(ms).toBeGreaterThanOrEqual(10);
        expect(ms).toBeLessThanOrEqual(60);
      }
      const thrice = failing([make(), make(), make()]);
      await expect(retryConflicts(thrice, sleep)).rejects.toThrow();
      expect(thrice).toHaveBeenCalledTimes(3);
    },
  );

  it.each([
    ['a unique violation', pgError('23505')],
    ['a read-only database', pgError('25006')],
    ['a bug', new TypeError('x is undefined')],
    ['a 40P01 that did not come from the database', Object.assign(new Error('x'), { code: '40P01' })],
  ])('does not run it again after %s', async (_name, error) => {
    const work = failing([error]);
    await expect(retryConflicts(work, sleep)).rejects.toBe(error);
    expect(work).toHaveBeenCalledTimes(1);
    expect(pauses).toEqual([]);
  });
});
