import { createHash } from 'node:crypto';
import type { BluumGateway } from '../bluum/bluum.gateway';
import type { BluumItem } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { loadConfig } from '../config/app-config';
import type { UsersService } from '../users/users.service';
import type { Caller } from '../auth/caller';
import { RequestContext } from '../logging/request-context';
import type { FundingSourceRecord } from './funding-source';
import type { FundingSourceReads } from './funding-source-reads';
import type { FundingSourceWrites } from './funding-source-writes';
import type { PublicTokenExchanges } from './public-token-exchanges';
import { ConnectService } from './connect.service';
import { FundingSourcesService } from './funding-sources.service';
import { markFromDatabase } from '../database/database-errors';
import { FakeClock } from '../../test/support/fake-clock';

// A connection pg lost, as the pool reports it (marked as the database's where the pool throws it).
const connectionLost = (): Error => markFromDatabase(new Error('Connection terminated unexpectedly'));

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

// Who is calling: passed explicitly down to where the audit events are written.
const CALLER: Caller = {
  actor: { subject: 'admin_1', role: 'admin', scope: '' },
  requestId: 'req-1',
  clientRequestId: null,
};
// What the gateway is given so that the lines a Bluum call logs carry the request's ids.
const REQUEST = RequestContext.from(CALLER);
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
  transferBy: 'plaid_options',
  createdAt: new Date('2026-01-22T10:30:00.000Z'),
  updatedAt: new Date('2026-01-22T10:31:00.000Z'),
};
// RECORD as the contract's FundingSource: plaidOptions is what a deposit sends Bluum as plaid_options.
const FUNDING_SOURCE = {
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
  plaidOptions: { item_id: 'item_abc123', account_id: 'acc_1234567890' },
  transferOptions: { plaid_options: { item_id: 'item_abc123', account_id: 'acc_1234567890' } },
  createdAt: '2026-01-22T10:30:00.000Z',
  updatedAt: '2026-01-22T10:31:00.000Z',
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
      fundingSourceId: null,
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
  reads?: Partial<Record<keyof FundingSourceReads, jest.Mock>>;
  writes?: Partial<Record<keyof FundingSourceWrites, jest.Mock>>;
  exchanges?: Partial<Record<keyof PublicTokenExchanges, jest.Mock>>;
  bluum?: Partial<Record<keyof BluumGateway, jest.Mock>>;
}) {
  const users = strict<UsersService>('users', fakes.users ?? {});
  const reads = strict<FundingSourceReads>('reads', fakes.reads ?? {});
  const writes = strict<FundingSourceWrites>('writes', fakes.writes ?? {});
  const exchanges = strict<PublicTokenExchanges>('exchanges', fakes.exchanges ?? {});
  const bluum = strict<BluumGateway>('bluum', fakes.bluum ?? {});
  const clock = new FakeClock();
  // In development the allowed redirect origins are the service's own: http://localhost:3000 and 127.0.0.1.
  const config = loadConfig({ BLUUM_TIMEOUT_MS: '200' });
  return {
    sut: new FundingSourcesService(users, reads, writes, bluum, config, clock),
    connects: new ConnectService(users, writes, exchanges, bluum, config, clock),
    users,
    reads,
    writes,
    exchanges,
    bluum,
    clock,
  };
}

describe('FundingSourcesService and ConnectService', () => {
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
      fundingSources: [FUNDING_SOURCE],
    };

    it("stores Bluum's institution id as it says it (none, in its investors generation), and Plaid Link's metadata apart, as the client's claim", async () => {
      const saveLinkedItem = jest
        .fn()
        .mockResolvedValue({ kind: 'saved', linked: LINKED, response: RESPONSE, duplicateOfItemId: null });
      const exchangePublicToken = jest
        .fn()
        .mockResolvedValueOnce({ ...ITEM, institutionId: null })
        .mockResolvedValueOnce(ITEM);
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken },
        writes: { saveLinkedItem, activeItemsAtInstitution: jest.fn().mockResolvedValue([]) },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }) },
      });
      const metadata = { institution: { id: 'ins_109508', name: 'First Platypus Bank' }, accounts: [] };
      await connects.connect('user_1', TOKEN, CALLER, metadata);
      await connects.connect('user_1', 'public-sandbox-2', CALLER, metadata);
      expect(
        saveLinkedItem.mock.calls.map((call) => [
          (call[2] as { institutionId: string | null }).institutionId,
          call[4],
        ]),
      ).toEqual([
        [null, 'ins_109508'],
        ['ins_3', 'ins_109508'],
      ]);
    });

    it("claims the token by its hash, exchanges it under the user's Bluum account, stores the item and the response", async () => {
      const saveLinkedItem = jest
        .fn()
        .mockResolvedValue({ kind: 'saved', linked: LINKED, response: RESPONSE, duplicateOfItemId: null });
      const { connects, bluum, exchanges } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockResolvedValue(ITEM) },
        writes: { saveLinkedItem },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }) },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).resolves.toEqual({
        response: RESPONSE,
        replayed: false,
      });
      expect(exchanges.claim).toHaveBeenCalledWith(TOKEN_HASH, 'user_1', expect.any(Date));
      expect(bluum.exchangePublicToken).toHaveBeenCalledWith('acct_1', TOKEN, REQUEST);
      // Bluum's item as it is stored: our statuses, our field names.
      expect(saveLinkedItem).toHaveBeenCalledWith(
        'user_1',
        'acct_1',
        {
          itemId: ITEM.itemId,
          bluumFundingSourceId: ITEM.id,
          institutionId: 'ins_3',
          institutionName: 'Chase Bank',
          status: 'active',
          accounts: [
            {
              accountId: RECORD.accountId,
              bluumFundingSourceId: ITEM.id,
              transferBy: 'plaid_options',
              name: 'Checking Account',
              type: 'depository',
              subtype: 'checking',
              mask: '0000',
              status: 'active',
            },
          ],
        },
        { tokenHash: TOKEN_HASH, caller: CALLER },
        // No metadata: no claim.
        null,
      );
      expect(bluum.exchangePublicToken.mock.invocationCallOrder[0]).toBeLessThan(
        saveLinkedItem.mock.invocationCallOrder[0],
      );
    });

    it.each([
      ['user-not-found', 'USER_NOT_FOUND', 404],
      ['bluum-account-changed', 'BLUUM_ACCOUNT_CONFLICT', 409],
      ['item-of-another-user', 'ITEM_LINKED_TO_ANOTHER_USER', 409],
    ])('turns a refused save (%s) into %s and gives the token up', async (kind, code, status) => {
      const release = jest.fn().mockResolvedValue(undefined);
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockResolvedValue(ITEM) },
        writes: { saveLinkedItem: jest.fn().mockResolvedValue({ kind }) },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }), release },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).rejects.toMatchObject({ code, status });
      expect(release).toHaveBeenCalledWith(TOKEN_HASH);
    });

    it('retries recording a bank Bluum linked while the database blinks, without a second exchange', async () => {
      const exchangePublicToken = jest.fn().mockResolvedValue(ITEM);
      const saveLinkedItem = jest
        .fn()
        .mockRejectedValueOnce(connectionLost())
        .mockResolvedValue({ kind: 'saved', linked: LINKED, response: RESPONSE, duplicateOfItemId: null });
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken },
        writes: { saveLinkedItem },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }) },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).resolves.toMatchObject({ replayed: false });
      expect(exchangePublicToken).toHaveBeenCalledTimes(1);
      expect(saveLinkedItem).toHaveBeenCalledTimes(2);
    });

    it('keeps a spent token claimed and points to sync when the database stays away after Bluum linked', async () => {
      const saveLinkedItem = jest.fn().mockRejectedValue(connectionLost());
      const release = jest.fn().mockResolvedValue(undefined);
      const { connects, clock } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockResolvedValue(ITEM) },
        writes: { saveLinkedItem },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }), release },
      });
      const error = await connects.connect('user_1', TOKEN, CALLER).catch((err: unknown) => err as AppError);
      expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
      expect((error as AppError).message).toContain('/v1/users/user_1/funding-sources/sync');
      expect(saveLinkedItem).toHaveBeenCalledTimes(3);
      // Retried after 200 ms, then 800 ms.
      expect(clock.sleeps).toEqual([200, 800]);
      expect(release).not.toHaveBeenCalled();
    });

    it("gives the token up when Bluum fails, and answers Bluum's error even if giving it up fails", async () => {
      const release = jest.fn().mockRejectedValue(connectionLost());
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: {
          exchangePublicToken: jest
            .fn()
            .mockRejectedValue(new AppError('BLUUM_UNAVAILABLE', 'Bluum is down')),
        },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }), release },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).rejects.toMatchObject({
        code: 'BLUUM_UNAVAILABLE',
      });
      expect(release).toHaveBeenCalledWith(TOKEN_HASH);
    });

    it('replays the stored response of a token already exchanged by this user, without calling Bluum', async () => {
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        exchanges: {
          claim: jest.fn().mockResolvedValue({ state: 'completed', userId: 'user_1', response: RESPONSE }),
        },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).resolves.toEqual({
        response: RESPONSE,
        replayed: true,
      });
    });

    it("answers PUBLIC_TOKEN_REJECTED for another user's exchanged token, revealing nothing of it", async () => {
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        exchanges: {
          claim: jest.fn().mockResolvedValue({ state: 'completed', userId: 'user_2', response: RESPONSE }),
        },
      });
      const error = await connects.connect('user_1', TOKEN, CALLER).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'PUBLIC_TOKEN_REJECTED' });
      expect((error as Error).message).not.toContain('item_abc123');
    });

    it('waits for a concurrent exchange of the same token and replays it', async () => {
      const claim = jest
        .fn()
        .mockResolvedValueOnce({ state: 'pending' })
        .mockResolvedValueOnce(null)
        .mockResolvedValueOnce({ state: 'completed', userId: 'user_1', response: RESPONSE });
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        exchanges: { claim },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).resolves.toEqual({
        response: RESPONSE,
        replayed: true,
      });
      expect(claim).toHaveBeenCalledTimes(3);
    });

    it('polls a claim in progress every 100 ms, and gives up with CONNECT_IN_PROGRESS once the claim lifetime is past', async () => {
      const claim = jest.fn().mockResolvedValue({ state: 'pending' });
      const { connects, clock } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        exchanges: { claim },
      });
      const start = clock.now();
      await expect(connects.connect('user_1', TOKEN, CALLER)).rejects.toMatchObject({
        code: 'CONNECT_IN_PROGRESS',
        status: 409,
      });
      // The budget: twice BLUUM_TIMEOUT_MS (200 ms here) and 5 s, polled every 100 ms until past it.
      const budget = 2 * 200 + 5_000;
      expect(new Set(clock.sleeps)).toEqual(new Set([100]));
      expect(clock.now() - start).toBe(budget + 100);
      expect(claim).toHaveBeenCalledTimes(budget / 100 + 2);
      // Every look takes over a claim only if it is older than the budget, on the same clock.
      expect(claim.mock.calls[0][2]).toEqual(new Date(start - budget));
      expect(claim.mock.calls.at(-1)?.[2]).toEqual(new Date(clock.now() - budget));
    });

    it('releases the claim and stores nothing when Bluum fails, pointing at sync when Bluum may have linked anyway', async () => {
      const release = jest.fn().mockResolvedValue(undefined);
      const saveLinkedItem = jest.fn();
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockRejectedValue(new AppError('BLUUM_TIMEOUT', 'slow')) },
        writes: { saveLinkedItem },
        exchanges: { claim: jest.fn().mockResolvedValue({ state: 'claimed' }), release },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).rejects.toMatchObject({
        code: 'BLUUM_TIMEOUT',
        status: 504,
        message: expect.stringContaining('/v1/users/user_1/funding-sources/sync'),
      });
      expect(saveLinkedItem).not.toHaveBeenCalled();
      expect(release).toHaveBeenCalledWith(TOKEN_HASH);
    });

    it('passes a rejected public token through as PUBLIC_TOKEN_REJECTED and stores nothing', async () => {
      const rejected = new AppError('PUBLIC_TOKEN_REJECTED', 'Bluum rejected the public token.');
      const saveLinkedItem = jest.fn();
      const { connects } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { exchangePublicToken: jest.fn().mockRejectedValue(rejected) },
        writes: { saveLinkedItem },
        exchanges: {
          claim: jest.fn().mockResolvedValue({ state: 'claimed' }),
          release: jest.fn().mockResolvedValue(undefined),
        },
      });
      await expect(connects.connect('user_1', TOKEN, CALLER)).rejects.toBe(rejected);
      expect(saveLinkedItem).not.toHaveBeenCalled();
    });

    it('never calls Bluum, nor claims the token, for an unknown user', async () => {
      const exchangePublicToken = jest.fn();
      const claim = jest.fn();
      const { connects } = setup({
        users: { require: jest.fn().mockImplementation(notFound) },
        bluum: { exchangePublicToken },
        exchanges: { claim },
      });
      await expect(connects.connect('ghost', TOKEN, CALLER)).rejects.toMatchObject({
        code: 'USER_NOT_FOUND',
        status: 404,
      });
      expect(exchangePublicToken).not.toHaveBeenCalled();
      expect(claim).not.toHaveBeenCalled();
    });
  });

  describe('createLinkToken', () => {
    it('asks Bluum without hosted link unless requested', async () => {
      const createLinkToken = jest.fn().mockResolvedValue({ linkToken: 'link-1', hostedLinkUrl: null });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { createLinkToken },
      });
      await expect(sut.createLinkToken('user_1', {}, CALLER)).resolves.toEqual({
        linkToken: 'link-1',
        hostedLinkUrl: null,
      });
      await sut.createLinkToken('user_1', { enableHostedLink: true }, CALLER);
      expect(createLinkToken.mock.calls).toEqual([
        ['acct_1', { enableHostedLink: false }, REQUEST],
        ['acct_1', { enableHostedLink: true }, REQUEST],
      ]);
    });

    it('passes an allow-listed completionRedirectUri to Bluum with the hosted link', async () => {
      const createLinkToken = jest
        .fn()
        .mockResolvedValue({ linkToken: 'link-1', hostedLinkUrl: 'https://hosted.plaid.com/x' });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { createLinkToken },
      });
      await expect(
        sut.createLinkToken(
          'user_1',
          { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000/done' },
          CALLER,
        ),
      ).resolves.toEqual({ linkToken: 'link-1', hostedLinkUrl: 'https://hosted.plaid.com/x' });
      expect(createLinkToken).toHaveBeenCalledWith(
        'acct_1',
        { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000/done' },
        REQUEST,
      );
    });

    it('sends Bluum a bare allow-listed origin as the URL it was checked as', async () => {
      const createLinkToken = jest
        .fn()
        .mockResolvedValue({ linkToken: 'link-1', hostedLinkUrl: 'https://hosted.plaid.com/x' });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { createLinkToken },
      });
      await sut.createLinkToken(
        'user_1',
        { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000' },
        CALLER,
      );
      expect(createLinkToken).toHaveBeenCalledWith(
        'acct_1',
        { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000/' },
        REQUEST,
      );
    });

    it.each([
      ['without the hosted link', { completionRedirectUri: 'http://localhost:3000/done' }],
      ['that new URL cannot parse', { enableHostedLink: true, completionRedirectUri: 'http://xn--a.com/' }],
      [
        'with a backslash',
        { enableHostedLink: true, completionRedirectUri: 'http://localhost:3000\\@evil.example/' },
      ],
      [
        'on an origin not allowed',
        { enableHostedLink: true, completionRedirectUri: 'https://evil.example/done' },
      ],
      [
        'on an allowed host with another port',
        { enableHostedLink: true, completionRedirectUri: 'http://localhost:3001/done' },
      ],
    ])('refuses a completionRedirectUri %s, before any call', async (_name, request) => {
      const { sut } = setup({});
      await expect(sut.createLinkToken('user_1', request, CALLER)).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
        status: 400,
        details: [expect.objectContaining({ field: 'completionRedirectUri' })],
      });
    });

    it('answers USER_NOT_FOUND for an unknown user without calling Bluum', async () => {
      const createLinkToken = jest.fn();
      const { sut } = setup({
        users: { require: jest.fn().mockImplementation(notFound) },
        bluum: { createLinkToken },
      });
      await expect(sut.createLinkToken('ghost', {}, CALLER)).rejects.toMatchObject({
        code: 'USER_NOT_FOUND',
      });
      expect(createLinkToken).not.toHaveBeenCalled();
    });
  });

  describe('list', () => {
    const JSON_TEXT = JSON.stringify(FUNDING_SOURCE);
    it.each([
      [undefined, ['active', 'error']],
      ['all', ['active', 'error', 'disconnected']],
      ['disconnected', ['disconnected']],
      ['error', ['error']],
    ] as const)('status %s reads %j', async (status, statuses) => {
      const listJsonByUser = jest.fn().mockResolvedValue([JSON_TEXT, JSON_TEXT]);
      const { sut } = setup({ reads: { listJsonByUser } });
      const result = await sut.list('user_1', status);
      expect(listJsonByUser).toHaveBeenCalledWith('user_1', statuses);
      expect(JSON.parse(result)).toEqual({ data: [FUNDING_SOURCE, FUNDING_SOURCE] });
    });

    it('tells an empty list from an unknown user', async () => {
      const empty = setup({
        reads: { listJsonByUser: jest.fn().mockResolvedValue([]) },
        users: { require: jest.fn().mockResolvedValue(USER) },
      });
      await expect(empty.sut.list('user_1', undefined)).resolves.toBe('{"data":[]}');
      const unknown = setup({
        reads: { listJsonByUser: jest.fn().mockResolvedValue([]) },
        users: { require: jest.fn().mockImplementation(notFound) },
      });
      await expect(unknown.sut.list('ghost', undefined)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    });
  });

  describe('disconnect', () => {
    const DISCONNECTED = { ...RECORD, status: 'disconnected' as const };
    const LEASED = {
      kind: 'leased',
      item: { id: 'pi_1', itemId: RECORD.itemId, bluumFundingSourceId: 'fs_1', accountOnly: null },
    };

    it('records the intent, calls Bluum with nothing held, then records the outcome', async () => {
      const order: string[] = [];
      const beginDisconnect = jest.fn().mockImplementation(() => {
        order.push('begin');
        return Promise.resolve(LEASED);
      });
      const disconnectItem = jest.fn().mockImplementation(() => {
        order.push('bluum');
        return Promise.resolve();
      });
      const finishDisconnect = jest.fn().mockImplementation(() => {
        order.push('finish');
        return Promise.resolve(DISCONNECTED);
      });
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectItem },
        writes: { beginDisconnect, finishDisconnect },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).resolves.toMatchObject({
        id: RECORD.id,
        status: 'disconnected',
        plaidOptions: { item_id: RECORD.itemId, account_id: RECORD.accountId },
      });
      expect(order).toEqual(['begin', 'bluum', 'finish']);
      const lease = beginDisconnect.mock.calls[0][2] as { id: string; durationMs: number };
      expect(lease.id).toMatch(/^[0-9a-f-]{36}$/);
      // The lease outlives the Bluum work (two calls and the transactions): the derived budget.
      expect(lease.durationMs).toBe(2 * 200 + 5_000);
      expect(disconnectItem).toHaveBeenCalledWith(
        'acct_1',
        { itemId: LEASED.item.itemId, bluumFundingSourceId: 'fs_1' },
        REQUEST,
      );
      expect(finishDisconnect).toHaveBeenCalledWith('user_1', RECORD.id, 'pi_1', CALLER, false);
      expect(beginDisconnect.mock.calls[0][3]).toBe(CALLER);
    });

    it('disconnects at Bluum only the account that is a funding source of its own, and records it alone', async () => {
      const disconnectFundingSource = jest.fn().mockResolvedValue(undefined);
      const finishDisconnect = jest.fn().mockResolvedValue(DISCONNECTED);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectFundingSource },
        writes: {
          beginDisconnect: jest.fn().mockResolvedValue({
            ...LEASED,
            item: { ...LEASED.item, bluumFundingSourceId: null, accountOnly: 'fs_a' },
          }),
          finishDisconnect,
        },
      });
      await sut.disconnect('user_1', RECORD.id, CALLER);
      expect(disconnectFundingSource).toHaveBeenCalledWith('acct_1', 'fs_a', REQUEST);
      expect(finishDisconnect).toHaveBeenCalledWith('user_1', RECORD.id, 'pi_1', CALLER, true);
    });

    it('answers a source that needs no Bluum call (not the last account, or already disconnected) at once', async () => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        writes: {
          beginDisconnect: jest.fn().mockResolvedValue({ kind: 'disconnected', record: DISCONNECTED }),
        },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).resolves.toMatchObject({
        status: 'disconnected',
      });
    });

    it('gives its lease up when Bluum fails, records no outcome, and says a repeat is safe after a timeout', async () => {
      const releaseDisconnect = jest.fn().mockResolvedValue(undefined);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectItem: jest.fn().mockRejectedValue(new AppError('BLUUM_TIMEOUT', 'late.')) },
        writes: { beginDisconnect: jest.fn().mockResolvedValue(LEASED), releaseDisconnect },
      });
      const error = await sut
        .disconnect('user_1', RECORD.id, CALLER)
        .catch((err: unknown) => err as AppError);
      expect(error).toMatchObject({ code: 'BLUUM_TIMEOUT' });
      expect((error as AppError).message).toContain('Repeating the DELETE is safe');
      const lease = (
        (sut as unknown as { writes: { beginDisconnect: jest.Mock } }).writes.beginDisconnect.mock
          .calls[0][2] as { id: string }
      ).id;
      expect(releaseDisconnect).toHaveBeenCalledWith('pi_1', lease);
    });

    it('answers the Bluum failure, not a database one, when the lease cannot be given up either', async () => {
      const failure = new AppError('BLUUM_REQUEST_REJECTED', 'no.');
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectItem: jest.fn().mockRejectedValue(failure) },
        writes: {
          beginDisconnect: jest.fn().mockResolvedValue(LEASED),
          releaseDisconnect: jest.fn().mockRejectedValue(connectionLost()),
        },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).rejects.toBe(failure);
    });

    it('waits for a disconnect in progress with plain reads, then answers its outcome, without calling Bluum', async () => {
      const beginDisconnect = jest
        .fn()
        .mockResolvedValueOnce({ kind: 'in-progress' })
        .mockResolvedValueOnce({ kind: 'disconnected', record: DISCONNECTED });
      const disconnectInProgress = jest.fn().mockResolvedValueOnce(true).mockResolvedValueOnce(false);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        reads: { disconnectInProgress },
        writes: { beginDisconnect },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).resolves.toMatchObject({
        status: 'disconnected',
      });
      // The locking transaction runs again only once the lease is gone.
      expect(beginDisconnect).toHaveBeenCalledTimes(2);
      expect(disconnectInProgress.mock.calls).toEqual([
        ['user_1', RECORD.id],
        ['user_1', RECORD.id],
      ]);
    });

    it('answers DISCONNECT_IN_PROGRESS when the one in progress outlasts the budget', async () => {
      const { sut, clock } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        reads: { disconnectInProgress: jest.fn().mockResolvedValue(true) },
        writes: { beginDisconnect: jest.fn().mockResolvedValue({ kind: 'in-progress' }) },
      });
      const start = clock.now();
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).rejects.toMatchObject({
        code: 'DISCONNECT_IN_PROGRESS',
        status: 409,
      });
      // One look every 250 ms, and no wait that would end past the budget (2 × 200 ms + 5 s).
      expect(new Set(clock.sleeps)).toEqual(new Set([250]));
      expect(clock.now() - start).toBeLessThanOrEqual(5_400);
      expect(clock.now() - start).toBeGreaterThan(5_400 - 250);
    });

    it('retries recording what Bluum did when the database blinks', async () => {
      const finishDisconnect = jest
        .fn()
        .mockRejectedValueOnce(connectionLost())
        .mockResolvedValueOnce(DISCONNECTED);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectItem: jest.fn().mockResolvedValue(undefined) },
        writes: { beginDisconnect: jest.fn().mockResolvedValue(LEASED), finishDisconnect },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).resolves.toMatchObject({
        status: 'disconnected',
      });
      expect(finishDisconnect).toHaveBeenCalledTimes(2);
    });

    it('says Bluum disconnected the bank and a repeat records it, when the database stays away', async () => {
      const disconnectItem = jest.fn().mockResolvedValue(undefined);
      const finishDisconnect = jest.fn().mockRejectedValue(connectionLost());
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { disconnectItem },
        writes: { beginDisconnect: jest.fn().mockResolvedValue(LEASED), finishDisconnect },
      });
      const error = await sut
        .disconnect('user_1', RECORD.id, CALLER)
        .catch((err: unknown) => err as AppError);
      expect(error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
      expect((error as AppError).message).toContain('Bluum disconnected this bank');
      expect(finishDisconnect).toHaveBeenCalledTimes(3);
      // The lease is not given up: Bluum did its part, and the next disconnect or sync settles it.
      expect(disconnectItem).toHaveBeenCalledTimes(1);
    });

    it("answers FUNDING_SOURCE_NOT_FOUND for a source that is not the user's", async () => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        writes: { beginDisconnect: jest.fn().mockResolvedValue({ kind: 'not-found' }) },
      });
      await expect(sut.disconnect('user_1', RECORD.id, CALLER)).rejects.toMatchObject({
        code: 'FUNDING_SOURCE_NOT_FOUND',
      });
    });
  });

  describe('sync', () => {
    it("stores Bluum's list under the user's account and answers with every status", async () => {
      const listItems = jest.fn().mockResolvedValue([ITEM]);
      const syncItems = jest.fn().mockResolvedValue({ kind: 'synced', added: 1, updated: 0, skipped: [] });
      const listByUser = jest.fn().mockResolvedValue([RECORD]);
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { listItems },
        reads: { listByUser },
        writes: { syncItems },
      });
      await expect(sut.sync('user_1', CALLER)).resolves.toEqual({
        data: [expect.objectContaining({ id: RECORD.id })],
        added: 1,
        updated: 0,
      });
      expect(listItems).toHaveBeenCalledWith('acct_1', REQUEST);
      expect(syncItems).toHaveBeenCalledWith('user_1', 'acct_1', [ITEM], CALLER);
      expect(listByUser).toHaveBeenCalledWith('user_1', ['active', 'error', 'disconnected']);
    });

    it.each([
      ['user-not-found', 'USER_NOT_FOUND'],
      ['bluum-account-changed', 'BLUUM_ACCOUNT_CONFLICT'],
    ])('turns a refused sync (%s) into %s', async (kind, code) => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { listItems: jest.fn().mockResolvedValue([ITEM]) },
        writes: { syncItems: jest.fn().mockResolvedValue({ kind }) },
      });
      await expect(sut.sync('user_1', CALLER)).rejects.toMatchObject({ code });
    });

    it('changes nothing when Bluum fails', async () => {
      const { sut } = setup({
        users: { require: jest.fn().mockResolvedValue(USER) },
        bluum: { listItems: jest.fn().mockRejectedValue(new AppError('BLUUM_TIMEOUT', 'slow')) },
      });
      await expect(sut.sync('user_1', CALLER)).rejects.toMatchObject({ code: 'BLUUM_TIMEOUT' });
    });
  });

  describe('get', () => {
    it("returns the user's funding source", async () => {
      const findJsonForUser = jest.fn().mockResolvedValue(JSON.stringify(FUNDING_SOURCE));
      const { sut } = setup({ reads: { findJsonForUser } });
      expect(JSON.parse(await sut.get('user_1', RECORD.id))).toEqual(FUNDING_SOURCE);
      expect(findJsonForUser).toHaveBeenCalledWith('user_1', RECORD.id);
    });

    it('answers FUNDING_SOURCE_NOT_FOUND for an id that is not the user’s, USER_NOT_FOUND for an unknown user', async () => {
      const missing = setup({
        reads: { findJsonForUser: jest.fn().mockResolvedValue(null) },
        users: { require: jest.fn().mockResolvedValue(USER) },
      });
      await expect(missing.sut.get('user_1', RECORD.id)).rejects.toMatchObject({
        code: 'FUNDING_SOURCE_NOT_FOUND',
        status: 404,
      });
      const unknown = setup({
        reads: { findJsonForUser: jest.fn().mockResolvedValue(null) },
        users: { require: jest.fn().mockImplementation(notFound) },
      });
      await expect(unknown.sut.get('ghost', RECORD.id)).rejects.toMatchObject({ code: 'USER_NOT_FOUND' });
    });
  });
});
