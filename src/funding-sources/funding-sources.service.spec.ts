import { createHash } from 'node:crypto';
import type { BluumGateway } from '../bluum/bluum.gateway';
import type { BluumItem } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { loadConfig } from '../config/app-config';
import type { UsersService } from '../users/users.service';
import type { FundingSourceRecord } from './funding-source.record';
import type { FundingSourcesRepository } from './funding-sources.repository';
import { FundingSourcesService } from './funding-sources.service';

// A strict fake: any method the test did not set up fails the test when called.
function strict<T extends object>(
  name: string,
  impl: Partial<Record<keyof T, jest.Mock>>,
): T & Record<keyof T, jest.Mock> {
  return new Proxy(impl, {
    get(target, prop: string) {
      if (prop in target) return target[prop as keyof T];
      if (prop === 'then') return undefined;
      throw new Error(`unexpected call: ${name}.${prop}`);
    },
  }) as T & Record<keyof T, jest.Mock>;
}

const USER = { id: 'user_1', bluumAccountId: 'acct_1', createdAt: new Date(), updatedAt: new Date() };
const RECORD: FundingSourceRecord = {
  id: '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69',
  userId: 'user_1',
  status: 'active',
  institutionId: 'ins_3',
  institutionName: 'Chase Bank',
  accountName: 'Checking Account',
  accountType: 'depository',
  accountSubtype: 'checking',
  mask: '0000',
  itemId: 'item_abc123',
  accountId: 'acc_1234567890',
  bluumFundingSourceId: '123e4567-e89b-12d3-a456-426614174000',
  createdAt: new Date('2026-01-22T10:30:00.000Z'),
  updatedAt: new Date('2026-01-22T10:31:00.000Z'),
};
const ITEM: BluumItem = {
  id: RECORD.bluumFundingSourceId,
  itemId: RECORD.itemId,
  institutionId: 'ins_3',
  institutionName: 'Chase Bank',
  status: 'ACTIVE',
  accounts: [
    {
      accountId: RECORD.accountId,
      accountName: 'Checking Account',
      accountType: 'depository',
      accountSubtype: 'checking',
      mask: '0000',
    },
  ],
};
const notFound = (): never => {
  throw new AppError('USER_NOT_FOUND', 'No user');
};

function setup(fakes: {
  users?: Partial<Record<keyof UsersService, jest.Mock>>;
  repository?: Partial<Record<keyof FundingSourcesRepository, jest.Mock>>;
  bluum?: Partial<Record<keyof BluumGateway, jest.Mock>>;
}) {
  const users = strict<UsersService>('users', fakes.users ?? {});
  const repository = strict<FundingSourcesRepository>('repository', fakes.repository ?? {});
  const bluum = strict<BluumGateway>('bluum', fakes.bluum ?? {});
  return {
    sut: new FundingSourcesService(users, repository, bluum, loadConfig({ BLUUM_TIMEOUT_MS: '200' })),
    users,
    repository,
    bluum,
  };
}

describe('FundingSourcesService', () => {
  describe('connect', () => {
    const TOKEN = 'public-sandbox-1';
    const TOKEN_HASH = createHash('sha256').update(TOKEN).digest('hex');
    const LINKED = {
      item: { itemId: ITEM.itemId, institutionId: 'ins_3', institutionName: 'Chase Bank', status: 'active' },
      fundingSources: [RECORD],
    };
    const RESPONSE = {
      item: {
        itemId: 'item_abc123',
        institutionId: 'ins_3',
        institutionName: 'Chase Bank',
        status: 'active',
      },
      fundingSources: [
        {
          id: RECORD.id,
          userId: 'user_1',
          status: 'active',
          institutionId: 'ins_3',
          institutionName: 'Chase Bank',
          accountName: 'Checking Account',
          accountType: 'depository',
          accountSubtype: 'checking',
          mask: '0000',
          itemId: 'item_abc123',
          accountId: 'acc_1234567890',
          bluumFundingSourceId: '123e4567-e89b-12d3-a456-426614174000',
          plaidOptions: { item_id: 'item_abc123', account_id: 'acc_1234567890' },
          createdAt: '2026-01-22T10:30:00.000Z',
          updatedAt: '2026-01-22T10:31:00.000Z',
        },
      ],
    };

    it("claims the token by its hash, exchanges it under the user's Bluum account, stores the item and the response", async () => {
      const saveLinkedItem = jest
        .fn()
        .mockImplementation(
          (_u: string, _a: string, _i: BluumItem, exchange: { respond: (l: typeof LINKED) => object }) => {
            expect(exchange.respond(LINKED)).toEqual(RESPONSE);
            return Promise.resolve(LINKED);
          },
        );
      const { sut, bluum, repository } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockResolvedValue(ITEM) },
        repository: { claimPublicToken: jest.fn().mockResolvedValue({ state: 'claimed' }), saveLinkedItem },
      });
      await expect(sut.connect('user_1', TOKEN)).resolves.toEqual({ response: RESPONSE, replayed: false });
      expect(repository.claimPublicToken).toHaveBeenCalledWith(TOKEN_HASH, 'user_1', expect.any(Date));
      expect(bluum.exchangePublicToken).toHaveBeenCalledWith('acct_1', TOKEN);
      expect(saveLinkedItem).toHaveBeenCalledWith(
        'user_1',
        'acct_1',
        ITEM,
        expect.objectContaining({ tokenHash: TOKEN_HASH }),
      );
    });

    it('replays the stored response of a token already exchanged by this user, without calling Bluum', async () => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        repository: {
          claimPublicToken: jest
            .fn()
            .mockResolvedValue({ state: 'completed', userId: 'user_1', response: RESPONSE }),
        },
      });
      await expect(sut.connect('user_1', TOKEN)).resolves.toEqual({ response: RESPONSE, replayed: true });
    });

    it("answers PUBLIC_TOKEN_REJECTED for another user's exchanged token, revealing nothing of it", async () => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        repository: {
          claimPublicToken: jest
            .fn()
            .mockResolvedValue({ state: 'completed', userId: 'user_2', response: RESPONSE }),
        },
      });
      const error = await sut.connect('user_1', TOKEN).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'PUBLIC_TOKEN_REJECTED' });
      expect((error as Error).message).not.toContain('item_abc123');
    });

    it('waits for a concurrent exchange of the same token and replays it', async () => {
      const claimPublicToken = jest
        .fn()
        .mockResolvedValueOnce({ state: 'pending' })
        .mockResolvedValueOnce(null)
        .mockResolvedValueOnce({ state: 'completed', userId: 'user_1', response: RESPONSE });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        repository: { claimPublicToken },
      });
      await expect(sut.connect('user_1', TOKEN)).resolves.toEqual({ response: RESPONSE, replayed: true });
      expect(claimPublicToken).toHaveBeenCalledTimes(3);
    });

    it('gives up with CONNECT_IN_PROGRESS when the other exchange outlives the claim lifetime', async () => {
      jest.useFakeTimers({ doNotFake: ['setTimeout', 'nextTick', 'setImmediate'] });
      try {
        const start = Date.now();
        const claimPublicToken = jest.fn().mockImplementation(() => {
          jest.setSystemTime(start + 60_000);
          return Promise.resolve({ state: 'pending' });
        });
        const { sut } = setup({
          users: { require: jest.fn().mockResolvedValue(USER) },
          repository: { claimPublicToken },
        });
        await expect(sut.connect('user_1', TOKEN)).rejects.toMatchObject({
          code: 'CONNECT_IN_PROGRESS',
          status: 409,
        });
      } finally {
        jest.useRealTimers();
      }
    });

    it('releases the claim and stores nothing when Bluum fails', async () => {
      const releasePublicToken = jest.fn().mockResolvedValue(undefined);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockRejectedValue(new AppError('BLUUM_TIMEOUT', 'slow')) },
        repository: {
          claimPublicToken: jest.fn().mockResolvedValue({ state: 'claimed' }),
          releasePublicToken,
        },
      });
      await expect(sut.connect('user_1', TOKEN)).rejects.toMatchObject({ code: 'BLUUM_TIMEOUT' });
      expect(releasePublicToken).toHaveBeenCalledWith(TOKEN_HASH);
    });

    it('never calls Bluum for an unknown user', async () => {
      const { sut } = setup({ users: { require: jest.fn().mockImplementation(notFound) } });
      await expect(sut.connect('ghost', TOKEN)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    });
  });

  describe('createLinkToken', () => {
    it('asks Bluum without hosted link unless requested', async () => {
      const createLinkToken = jest.fn().mockResolvedValue({ linkToken: 'link-1', hostedLinkUrl: null });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { createLinkToken },
      });
      await expect(sut.createLinkToken('user_1', {})).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: null,
      });
      await sut.createLinkToken('user_1', { enableHostedLink: true });
      expect(createLinkToken.mock.calls).toEqual([
        ['acct_1', { enableHostedLink: false }],
        ['acct_1', { enableHostedLink: true }],
      ]);
    });
  });

  describe('list', () => {
    it.each([
      [undefined, ['active', 'error']],
      ['all', ['active', 'error', 'disconnected']],
      ['disconnected', ['disconnected']],
      ['error', ['error']],
    ] as const)('status %s reads %j', async (status, statuses) => {
      const listByUser = jest.fn().mockResolvedValue([RECORD]);
      const { sut } = setup({ repository: { listByUser } });
      const result = await sut.list('user_1', status);
      expect(listByUser).toHaveBeenCalledWith('user_1', statuses);
      expect(result.map((s) => s.plaidOptions)).toEqual([
        { item_id: RECORD.itemId, account_id: RECORD.accountId },
      ]);
    });

    it('tells an empty list from an unknown user', async () => {
      const empty = setup({
        repository: { listByUser: jest.fn().mockResolvedValue([]) },
        users: { require: jest.fn().mockResolvedValue(USER) },
      });
      await expect(empty.sut.list('user_1', undefined)).resolves.toEqual([]);
      const unknown = setup({
        repository: { listByUser: jest.fn().mockResolvedValue([]) },
        users: { require: jest.fn().mockImplementation(notFound) },
      });
      await expect(unknown.sut.list('ghost', undefined)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    });
  });

  describe('get', () => {
    it("returns the user's funding source", async () => {
      const findForUser = jest.fn().mockResolvedValue(RECORD);
      const { sut } = setup({ repository: { findForUser } });
      await expect(sut.get('user_1', RECORD.id)).resolves.toMatchObject({ id: RECORD.id, userId: 'user_1' });
      expect(findForUser).toHaveBeenCalledWith('user_1', RECORD.id);
    });

    it('answers FUNDING_SOURCE_NOT_FOUND for an id that is not the user’s, USER_NOT_FOUND for an unknown user', async () => {
      const missing = setup({
        repository: { findForUser: jest.fn().mockResolvedValue(null) },
        users: { require: jest.fn().mockResolvedValue(USER) },
      });
      await expect(missing.sut.get('user_1', RECORD.id)).rejects.toMatchObject({
        code: 'FUNDING_SOURCE_NOT_FOUND',
        status: 404,
      });
      const unknown = setup({
        repository: { findForUser: jest.fn().mockResolvedValue(null) },
        users: { require: jest.fn().mockImplementation(notFound) },
      });
      await expect(unknown.sut.get('ghost', RECORD.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    });
  });
});
