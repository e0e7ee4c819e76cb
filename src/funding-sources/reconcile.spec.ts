import type { Caller } from '../auth/caller';
import type { BluumItem } from '../bluum/bluum.types';
import {
  type AccountState,
  accountChanges,
  type Change,
  disconnectChanges,
  eventRows,
  findDuplicateItem,
  itemToStore,
  markDuplicateLinks,
  planDisconnect,
  planSync,
  type StoredItemAccounts,
  syncCounts,
} from './reconcile';

const bluumItem = (
  itemId: string,
  status: BluumItem['status'] = 'ACTIVE',
  accounts = ['acc_1'],
): BluumItem => ({
  id: `fs_${itemId}`,
  itemId,
  institutionId: 'ins_3',
  institutionName: 'Platypus',
  status,
  accounts: accounts.map((accountId) => ({
    accountId,
    fundingSourceId: null,
    accountName: 'Checking',
    accountType: 'depository',
    accountSubtype: 'checking',
    mask: '0000',
  })),
});

const state = (overrides: Partial<AccountState> = {}): AccountState => ({
  id: 'fs-1',
  itemId: 'item_1',
  accountId: 'acc_1',
  name: 'Checking',
  type: 'depository',
  subtype: 'checking',
  mask: '0000',
  status: 'active',
  institutionId: 'ins_3',
  institutionName: 'Platypus',
  bluumFundingSourceId: 'fs_item_1',
  transferBy: 'plaid_options',
  ...overrides,
});

describe('reconcile', () => {
  describe('itemToStore', () => {
    it.each([
      ['ACTIVE', 'active'],
      ['ERROR', 'error'],
      ['DISCONNECTED', 'disconnected'],
    ] as const)("stores Bluum's %s as %s, on the item and every account", (bluumStatus, status) => {
      const stored = itemToStore(bluumItem('item_1', bluumStatus, ['acc_1', 'acc_2']));
      expect(stored).toEqual({
        itemId: 'item_1',
        bluumFundingSourceId: 'fs_item_1',
        institutionId: 'ins_3',
        institutionName: 'Platypus',
        status,
        accounts: ['acc_1', 'acc_2'].map((accountId) => ({
          accountId,
          bluumFundingSourceId: 'fs_item_1',
          transferBy: 'plaid_options',
          name: 'Checking',
          type: 'depository',
          subtype: 'checking',
          mask: '0000',
          status,
        })),
      });
    });

    it("stores an account with Bluum's own funding source id (investors) under it, transferred by it, with its own status", () => {
      const item = bluumItem('item_1', 'ACTIVE', []);
      const stored = itemToStore({
        ...item,
        id: null,
        institutionId: null,
        accounts: [
          { ...bluumItem('x', 'ACTIVE', ['fs_a']).accounts[0], fundingSourceId: 'fs_a', status: 'ACTIVE' },
          {
            ...bluumItem('x', 'ACTIVE', ['fs_b']).accounts[0],
            fundingSourceId: 'fs_b',
            status: 'DISCONNECTED',
          },
        ],
      });
      expect(stored.bluumFundingSourceId).toBeNull();
      expect(
        stored.accounts.map(({ accountId, bluumFundingSourceId, transferBy, status }) => ({
          accountId,
          bluumFundingSourceId,
          transferBy,
          status,
        })),
      ).toEqual([
        {
          accountId: 'fs_a',
          bluumFundingSourceId: 'fs_a',
          transferBy: 'funding_source_id',
          status: 'active',
        },
        {
          accountId: 'fs_b',
          bluumFundingSourceId: 'fs_b',
          transferBy: 'funding_source_id',
          status: 'disconnected',
        },
      ]);
    });
  });

  describe('planSync', () => {
    it.each([
      // stored status here, Bluum's status → the account's stored status after
      [null, 'ACTIVE', 'active'],
      [null, 'ERROR', 'error'],
      ['active', 'ERROR', 'error'],
      ['error', 'ACTIVE', 'active'],
      ['active', 'DISCONNECTED', 'disconnected'],
      ['disconnected', 'ACTIVE', 'disconnected'],
      ['disconnected', 'ERROR', 'disconnected'],
    ] as const)('an account stored %s that Bluum lists %s is stored %s', (stored, bluumStatus, expected) => {
      const before = stored === null ? [] : [state({ status: stored })];
      const { store, skipped } = planSync('user_1', [bluumItem('item_1', bluumStatus)], new Map(), before);
      expect(store.map((item) => item.accounts.map((account) => account.status))).toEqual([[expected]]);
      expect(skipped).toEqual([]);
    });

    it("keeps a local disconnect to its own account only, and leaves other users' items alone", () => {
      const { store, skipped } = planSync(
        'user_1',
        [bluumItem('item_1', 'ACTIVE', ['acc_1', 'acc_2']), bluumItem('item_foreign'), bluumItem('item_new')],
        new Map([
          ['item_1', 'user_1'],
          ['item_foreign', 'user_2'],
        ]),
        [state({ status: 'disconnected' })],
      );
      expect(store.map((item) => [item.itemId, item.status, item.accounts.map((a) => a.status)])).toEqual([
        ['item_1', 'active', ['disconnected', 'active']],
        ['item_new', 'active', ['active']],
      ]);
      expect(skipped).toEqual(['item_foreign']);
    });
  });

  describe('accountChanges', () => {
    type Case = [
      name: string,
      before: AccountState | null,
      after: AccountState,
      expected: Omit<Change, 'fundingSourceId'>[],
    ];
    const updated: Omit<Change, 'fundingSourceId'>[] = [{ type: 'updated', details: {} }];
    const cases: Case[] = [
      ['a new account', null, state(), [{ type: 'linked', details: { status: 'active' } }]],
      ['nothing changed', state(), state(), []],
      [
        'a status change',
        state(),
        state({ status: 'error' }),
        [{ type: 'status_changed', details: { from: 'active', to: 'error' } }],
      ],
      [
        'a status change with a rename',
        state(),
        state({ status: 'error', name: 'New' }),
        [{ type: 'status_changed', details: { from: 'active', to: 'error' } }],
      ],
      ...(['name', 'type', 'mask', 'institutionName'] as const).map((field): Case => [
        `${field} changed`,
        state(),
        state({ [field]: 'x' }),
        updated,
      ]),
      ...(['subtype', 'institutionId', 'bluumFundingSourceId'] as const).map((field): Case => [
        `${field} became null`,
        state(),
        state({ [field]: null }),
        updated,
      ]),
    ];

    it.each(cases)('%s', (_name, before, after, expected) => {
      const changes = accountChanges(before ? [before] : [], [after]);
      expect(changes).toEqual(expected.map((change) => ({ fundingSourceId: 'fs-1', ...change })));
    });

    it('judges only the accounts read after, against the same accounts before', () => {
      const untouched = state({ id: 'fs-2', status: 'error' });
      expect(accountChanges([state(), untouched], [state()])).toEqual([]);
    });
  });

  it('counts linked events as added and every other change as updated', () => {
    expect(
      syncCounts([
        { fundingSourceId: 'a', type: 'linked', details: {} },
        { fundingSourceId: 'b', type: 'linked', details: {} },
        { fundingSourceId: 'c', type: 'status_changed', details: {} },
        { fundingSourceId: 'd', type: 'updated', details: {} },
      ]),
    ).toEqual({ added: 2, updated: 2 });
    expect(syncCounts([])).toEqual({ added: 0, updated: 0 });
  });

  describe('planDisconnect', () => {
    it.each([
      ['disconnected', 0, false, 'already-disconnected'],
      ['disconnected', 2, true, 'already-disconnected'],
      ['active', 1, false, 'disconnect-account'],
      ['error', 1, true, 'disconnect-account'],
      ['active', 0, false, 'lease'],
      ['error', 0, false, 'lease'],
      ['active', 0, true, 'wait'],
    ] as const)(
      'an account %s with %i other active and lease held %s: %s',
      (status, others, leaseHeld, step) => {
        expect(planDisconnect({ status, otherActiveAccounts: others, leaseHeld })).toBe(step);
      },
    );

    // Bluum's investors generation holds each account as a funding source: Bluum disconnects it first.
    it.each([
      ['disconnected', 2, false, 'already-disconnected'],
      ['active', 1, false, 'lease'],
      ['error', 2, false, 'lease'],
      ['active', 1, true, 'wait'],
      ['active', 0, false, 'lease'],
    ] as const)(
      'an account with a funding source of its own, %s with %i other active and lease held %s: %s',
      (status, others, leaseHeld, step) => {
        expect(
          planDisconnect({ status, otherActiveAccounts: others, leaseHeld, ownFundingSource: true }),
        ).toBe(step);
      },
    );
  });

  describe('eventRows', () => {
    const caller: Caller = {
      actor: { subject: 'admin_1', role: 'admin', scope: '' },
      requestId: 'req-1',
      clientRequestId: 'client-1',
    };

    it('writes the caller, our request id, how it came about, and the client request id beside ours', () => {
      const rows = eventRows(
        'user_1',
        disconnectChanges([{ id: 'fs-1', from: 'error' }], true),
        'disconnect',
        caller,
      );
      expect(rows).toEqual([
        {
          userId: 'user_1',
          fundingSourceId: 'fs-1',
          type: 'disconnected',
          actor: caller.actor,
          requestId: 'req-1',
          details: { from: 'error', itemDisconnected: true, via: 'disconnect', clientRequestId: 'client-1' },
        },
      ]);
      expect(rows[0].actor).not.toBe(caller.actor);
    });

    it('leaves clientRequestId out when the caller sent none', () => {
      const [row] = eventRows('user_1', [{ fundingSourceId: 'fs-1', type: 'updated', details: {} }], 'sync', {
        ...caller,
        clientRequestId: null,
      });
      expect(row.details).toEqual({ via: 'sync' });
    });
  });
});

describe('findDuplicateItem', () => {
  type Account = [mask: string, name: string, status?: StoredItemAccounts['status']];
  const stored = (
    accounts: Account[],
    overrides: Partial<Omit<StoredItemAccounts, 'fundingSources'>> = {},
  ): StoredItemAccounts => ({
    itemId: 'item_old',
    institutionId: 'ins_3',
    status: 'active',
    fundingSources: accounts.map(([mask, accountName, status = 'active']) => ({ mask, accountName, status })),
    ...overrides,
  });
  const bank = (accounts: [string, string][], institutionId: string | null = 'ins_3', itemId?: string) => ({
    institutionId,
    itemId,
    accounts: accounts.map(([mask, name]) => ({ mask, name })),
  });
  const CHECKING: [string, string] = ['0000', 'Plaid Checking'];
  const SAVING: [string, string] = ['1111', 'Plaid Saving'];

  it.each<['duplicate' | 'not a duplicate', string, ReturnType<typeof bank>, StoredItemAccounts]>([
    ['duplicate', 'same institution, same accounts', bank([CHECKING]), stored([CHECKING])],
    ['duplicate', 'same set in another order', bank([SAVING, CHECKING]), stored([CHECKING, SAVING])],
    [
      'duplicate',
      'an account repeated in the metadata is one account',
      bank([CHECKING, CHECKING]),
      stored([CHECKING]),
    ],
    ['not a duplicate', 'another institution', bank([CHECKING], 'ins_4'), stored([CHECKING])],
    [
      'not a duplicate',
      'an unknown institution in the request',
      bank([CHECKING], null),
      stored([CHECKING], { institutionId: null }),
    ],
    [
      'not a duplicate',
      'an unknown institution stored',
      bank([CHECKING]),
      stored([CHECKING], { institutionId: null }),
    ],
    ['not a duplicate', 'another mask', bank([['9999', 'Plaid Checking']]), stored([CHECKING])],
    ['not a duplicate', 'another name', bank([['0000', 'Plaid Saving']]), stored([CHECKING])],
    ['not a duplicate', 'names differ only in case', bank([['0000', 'plaid checking']]), stored([CHECKING])],
    ['not a duplicate', 'a subset of the stored accounts', bank([CHECKING]), stored([CHECKING, SAVING])],
    ['not a duplicate', 'a superset of the stored accounts', bank([CHECKING, SAVING]), stored([CHECKING])],
    [
      'duplicate',
      'a stored account disconnected here does not count',
      bank([CHECKING]),
      stored([CHECKING, [...SAVING, 'disconnected']]),
    ],
    [
      'duplicate',
      'an account in error still counts',
      bank([CHECKING, SAVING]),
      stored([CHECKING, [...SAVING, 'error']]),
    ],
    [
      'not a duplicate',
      'every stored account disconnected',
      bank([CHECKING]),
      stored([[...CHECKING, 'disconnected']]),
    ],
    [
      'not a duplicate',
      'the stored item is in error (re-linking repairs it)',
      bank([CHECKING]),
      stored([CHECKING], { status: 'error' }),
    ],
    [
      'not a duplicate',
      'the stored item is disconnected',
      bank([CHECKING]),
      stored([CHECKING], { status: 'disconnected' }),
    ],
    [
      'not a duplicate',
      'the same item connected again',
      bank([CHECKING], 'ins_3', 'item_old'),
      stored([CHECKING]),
    ],
    [
      'duplicate',
      "Bluum's reply for another item",
      bank([CHECKING], 'ins_3', 'item_new'),
      stored([CHECKING]),
    ],
    ['not a duplicate', 'no accounts in the request', bank([]), stored([])],
  ])('%s: %s', (verdict, _, candidate, item) => {
    expect(findDuplicateItem(candidate, [item])).toBe(verdict === 'duplicate' ? item : null);
  });

  it('answers the first active match among several items, and null for none', () => {
    const broken = stored([CHECKING], { itemId: 'item_broken', status: 'error' });
    const other = stored([SAVING], { itemId: 'item_saving' });
    const match = stored([CHECKING], { itemId: 'item_match' });
    expect(findDuplicateItem(bank([CHECKING]), [broken, other, match])).toBe(match);
    expect(findDuplicateItem(bank([CHECKING]), [broken, other])).toBeNull();
    expect(findDuplicateItem(bank([CHECKING]), [])).toBeNull();
  });
});

describe('markDuplicateLinks', () => {
  const changes: Change[] = [
    { fundingSourceId: 'fs-1', type: 'linked', details: { status: 'active' } },
    { fundingSourceId: 'fs-2', type: 'updated', details: {} },
  ];

  it('adds duplicateOfItemId to the linked events only', () => {
    expect(markDuplicateLinks(changes, 'item_old')).toEqual([
      {
        fundingSourceId: 'fs-1',
        type: 'linked',
        details: { status: 'active', duplicateOfItemId: 'item_old' },
      },
      changes[1],
    ]);
    // The input is left as it was.
    expect(changes[0].details).toEqual({ status: 'active' });
  });

  it('changes nothing when the item duplicates none', () => {
    expect(markDuplicateLinks(changes, null)).toEqual(changes);
  });
});
