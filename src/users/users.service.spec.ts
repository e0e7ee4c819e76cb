import { AppError } from '../common/app-error';
import { configSlice, loadConfig } from '../config/app-config';
import type { UsersRepository } from './users.repository';
import { UsersService } from './users.service';

const NOW = new Date('2026-01-22T10:30:00.000Z');

/** The service on a repository that records what it was asked to store, on `BLUUM_API_VERSION=version`. */
function service(version: 'accounts' | 'investors') {
  const config = loadConfig({ NODE_ENV: 'test', BLUUM_API_VERSION: version });
  const upserts: [string, string][] = [];
  const repository = {
    findById: () => Promise.resolve(null),
    upsert: (id: string, bluumAccountId: string) => {
      upserts.push([id, bluumAccountId]);
      return Promise.resolve({
        kind: 'saved',
        created: true,
        user: { id, bluumAccountId, createdAt: NOW, updatedAt: NOW },
      });
    },
  } as unknown as UsersRepository;
  const sut = new UsersService(
    repository,
    configSlice(config, 'auth'),
    configSlice(config, 'runtime'),
    configSlice(config, 'bluum'),
  );
  return { sut, upserts };
}

describe('UsersService: the Bluum account a user is registered under', () => {
  it.each(['acct_123', '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b', 'INV_123', 'inv', 'inv_'])(
    'refuses %s with the investors generation (400, nothing stored): Bluum would refuse every call for it',
    async (bluumAccountId) => {
      const { sut, upserts } = service('investors');
      const error = await sut.put('user_1', bluumAccountId).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(AppError);
      expect(error).toMatchObject({
        code: 'VALIDATION_FAILED',
        details: [{ field: 'bluumAccountId', message: expect.stringContaining('inv_') }],
      });
      expect(upserts).toEqual([]);
    },
  );

  it('registers an investor id with the investors generation, and any safe id with the accounts generation', async () => {
    const investors = service('investors');
    await expect(investors.sut.put('user_1', 'inv_1a2b3c')).resolves.toMatchObject({
      user: { id: 'user_1', bluumAccountId: 'inv_1a2b3c' },
      created: true,
    });
    const accounts = service('accounts');
    await accounts.sut.put('user_2', 'acct_123');
    await accounts.sut.put('user_3', 'inv_1a2b3c');
    expect([...investors.upserts, ...accounts.upserts]).toEqual([
      ['user_1', 'inv_1a2b3c'],
      ['user_2', 'acct_123'],
      ['user_3', 'inv_1a2b3c'],
    ]);
  });
});
