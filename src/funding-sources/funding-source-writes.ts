import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/caller';
import { PrismaService, type Transaction } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import type {
  ConnectResponse,
  FundingSourceRecord,
  FundingSourceStatus,
  LinkedItem,
  LinkedItemRecord,
} from './funding-source';
import { FundingSourceEvents } from './funding-source-events';
import {
  ACCOUNT_STATE_SELECT,
  FUNDING_SOURCE_SELECT,
  ITEM_COPIES,
  itemCopies,
  toRecord,
} from './funding-source-rows';
import { PublicTokenExchanges } from './public-token-exchanges';
import {
  type AccountState,
  accountChanges,
  type Change,
  type ChangeVia,
  disconnectChanges,
  findDuplicateItem,
  type ItemToStore,
  markDuplicateLinks,
  planDisconnect,
  planSync,
  syncCounts,
} from './reconcile';

// The writes of items and accounts: queries and transactions only. The rules they apply (statuses,
// what a sync keeps, what counts as a change, what a disconnect does next) are the pure functions of
// reconcile.ts; each transaction writes its audit events through FundingSourceEvents and completes a
// connect's public-token exchange through PublicTokenExchanges, in that same transaction. The service
// turns these methods' tagged results into the contract's errors.

/** Why a write for a user was refused before anything changed. */
export type UserLockFailure = { kind: 'user-not-found' } | { kind: 'bluum-account-changed' };

/** `duplicateOfItemId`: an active item of the user's that the one just stored duplicates (findDuplicateItem). */
export type SaveLinkedItemResult =
  | { kind: 'saved'; linked: LinkedItem; response: ConnectResponse; duplicateOfItemId: string | null }
  | UserLockFailure
  | { kind: 'item-of-another-user' };

/** A stored item with every account of it (disconnected ones too), as duplicate detection reads it. */
export interface ItemWithFundingSources {
  itemId: string;
  institutionId: string | null;
  status: FundingSourceStatus;
  fundingSources: FundingSourceRecord[];
}

export type SyncItemsResult =
  { kind: 'synced'; added: number; updated: number; skipped: string[] } | UserLockFailure;

/** Where a disconnect stands after its first step. */
export type DisconnectStart =
  | { kind: 'not-found' }
  | { kind: 'disconnected'; record: FundingSourceRecord }
  | { kind: 'in-progress' }
  | {
      kind: 'leased';
      item: {
        id: string;
        itemId: string;
        bluumFundingSourceId: string | null;
        /**
         * Bluum's id of this one account when Bluum holds it as a funding source of its own: only it
         * goes at Bluum, the last one of its item too (Bluum revokes the item with it); null when Bluum
         * disconnects the whole item.
         */
        accountOnly: string | null;
      };
    };

/** Connect, disconnect and sync: every write of plaid_items and bank_accounts. */
@Injectable()
export class FundingSourceWrites {
  constructor(
    private readonly prisma: PrismaService,
    private readonly events: FundingSourceEvents,
    private readonly exchanges: PublicTokenExchanges,
  ) {}

  /**
   * The user's active items at `institutionId` (Bluum's, or the one a client claimed at connect), oldest
   * first, each with every account of it.
   */
  async activeItemsAtInstitution(userId: string, institutionId: string): Promise<ItemWithFundingSources[]> {
    return activeItemsAt(this.prisma, userId, institutionId);
  }

  /**
   * Stores an item Bluum linked under `bluumAccountId`, with every account of it, in one transaction,
   * writes the audit events, and completes the public token's exchange in the same transaction with the
   * connect response, so a replay answers exactly what this request answers. An item already stored
   * (same itemId) is updated in place, never duplicated; nothing is written when refused. A new item
   * that duplicates an active one of the user's (findDuplicateItem, judged with the user locked) is
   * stored all the same, and its `linked` events name the item it duplicates.
   */
  async saveLinkedItem(
    userId: string,
    bluumAccountId: string,
    toStore: ItemToStore,
    exchange: { tokenHash: string; caller: Caller },
    /** The institution id the client sent (Plaid Link's metadata): for the duplicate check, stored apart. */
    claimedInstitutionId: string | null = null,
  ): Promise<SaveLinkedItemResult> {
    return this.prisma.transaction(async (tx): Promise<SaveLinkedItemResult> => {
      const refused = await lockUser(tx, userId, bluumAccountId);
      if (refused) return refused;
      const owner = await tx.plaidItem.findUnique({
        where: { itemId: toStore.itemId },
        select: { userId: true },
      });
      if (owner && owner.userId !== userId) return { kind: 'item-of-another-user' };
      const before = await accountStates(tx, { userId, itemId: toStore.itemId });
      // Bluum's institution id when it names one, else the client's claim: what the duplicate rules key on.
      const institutionKey = toStore.institutionId ?? claimedInstitutionId;
      const duplicateOf =
        institutionKey === null
          ? null
          : findDuplicateItem(
              { ...toStore, institutionId: institutionKey },
              await activeItemsAt(tx, userId, institutionKey),
            );
      const duplicateOfItemId = duplicateOf?.itemId ?? null;
      const { item, accountIds } = await upsertItem(tx, userId, toStore);
      if (claimedInstitutionId !== null) {
        await tx.plaidItem.updateMany({
          // Written only when it changes (NOT alone would skip a NULL, as SQL's <> does).
          where: {
            itemId: toStore.itemId,
            OR: [{ claimedInstitutionId: null }, { NOT: { claimedInstitutionId } }],
          },
          data: { claimedInstitutionId },
        });
      }
      const after = await accountStates(tx, { id: { in: accountIds } });
      const rows = await tx.bankAccount.findMany({
        where: { id: { in: accountIds } },
        select: FUNDING_SOURCE_SELECT,
      });
      const byId = new Map(rows.map((row) => [row.id, toRecord(row)]));
      const changes = markDuplicateLinks(accountChanges(before, after), duplicateOfItemId);
      await this.events.record(tx, userId, changes, 'connect', exchange.caller, byId);
      // In Bluum's account order, which is the order the user saw in Plaid Link.
      const linked: LinkedItem = {
        item,
        fundingSources: accountIds.map((id) => byId.get(id) as FundingSourceRecord),
      };
      const response = await this.exchanges.complete(tx, exchange.tokenHash, linked);
      return { kind: 'saved', linked, response, duplicateOfItemId };
    });
  }

  /**
   * Step 1 of a disconnect, one short transaction with the item locked: reads what `planDisconnect`
   * needs and does what it decides (answer as is, disconnect the account here, or record the intent as
   * a lease on the item for `lease.durationMs`, judged on the database's clock).
   */
  async beginDisconnect(
    userId: string,
    id: string,
    lease: { id: string; durationMs: number },
    caller: Caller,
  ): Promise<DisconnectStart> {
    return this.prisma.transaction(async (tx): Promise<DisconnectStart> => {
      const target = await tx.bankAccount.findFirst({
        where: { id, userId },
        select: { plaidItemId: true },
      });
      if (!target) return { kind: 'not-found' };
      // The database's clock, not this instance's: every instance judges a lease by the same clock. The
      // ids Bluum is called with are the item's own, read under its lock (the account's are copies).
      const [item] = await tx.$queryRaw<
        { leased: boolean; item_id: string; bluum_funding_source_id: string | null }[]
      >`
        SELECT coalesce(disconnect_lease_until > now(), false) AS leased, item_id, bluum_funding_source_id
          FROM plaid_items WHERE id = ${target.plaidItemId}::uuid FOR UPDATE`;
      // Deleted since: its accounts went with it (ON DELETE CASCADE).
      if (!item) return { kind: 'not-found' };
      const current = await tx.bankAccount.findUniqueOrThrow({
        where: { id },
        select: FUNDING_SOURCE_SELECT,
      });
      const otherActiveAccounts = await tx.bankAccount.count({
        where: { plaidItemId: target.plaidItemId, id: { not: id }, status: { not: 'disconnected' } },
      });
      const ownFundingSource = current.transferBy === 'funding_source_id';
      switch (
        planDisconnect({
          status: current.status,
          otherActiveAccounts,
          leaseHeld: item.leased,
          ownFundingSource,
        })
      ) {
        case 'already-disconnected':
          return { kind: 'disconnected', record: toRecord(current) };
        case 'disconnect-account': {
          const changes = disconnectChanges([{ id, from: current.status }], false);
          return {
            kind: 'disconnected',
            record: await markDisconnected(tx, this.events, userId, changes, id, caller),
          };
        }
        case 'wait':
          return { kind: 'in-progress' };
        case 'lease':
          await tx.$executeRaw`
            UPDATE plaid_items
               SET disconnect_lease_id = ${lease.id}::uuid,
                   disconnect_lease_until = now() + ${lease.durationMs} * interval '1 millisecond'
             WHERE id = ${target.plaidItemId}::uuid`;
          return {
            kind: 'leased',
            item: {
              id: target.plaidItemId,
              itemId: item.item_id,
              bluumFundingSourceId: item.bluum_funding_source_id,
              // One DELETE of the account's own funding source, the last one too: Bluum revokes the item
              // with its last active funding source, and every other account of the item went to Bluum
              // by its own DELETE (or was disconnected by Bluum) before. One call per lease.
              accountOnly: ownFundingSource ? (current.bluumFundingSourceId ?? current.accountId) : null,
            },
          };
      }
    });
  }

  /**
   * Step 3 of a disconnect, after Bluum disconnected the item: the item and every account of it still
   * active here are disconnected, the lease cleared (whoever holds it: Bluum's answer is the truth), the
   * audit events written. Returns the funding source `id`. A holder whose lease was taken over after it
   * expired may finish second: it then finds nothing left to change.
   */
  async finishDisconnect(
    userId: string,
    id: string,
    plaidItemId: string,
    caller: Caller,
    accountOnly = false,
  ): Promise<FundingSourceRecord> {
    return this.prisma.transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM plaid_items WHERE id = ${plaidItemId}::uuid FOR UPDATE`;
      if (accountOnly) {
        // Bluum disconnected this account alone: its other accounts stay as they are, and the item goes
        // with its last one still open here. Where the others are in error, Bluum may have revoked the
        // item with its last active one (its reference leaves open what it does to them): nothing is
        // guessed, and the next sync or reconciliation sweep takes Bluum's statuses.
        const account = await tx.bankAccount.findUniqueOrThrow({ where: { id }, select: { status: true } });
        const othersOpen = await tx.bankAccount.count({
          where: { plaidItemId, id: { not: id }, status: { not: 'disconnected' } },
        });
        await tx.plaidItem.update({
          where: { id: plaidItemId },
          data: {
            ...(othersOpen === 0 ? { status: 'disconnected' as const } : {}),
            disconnectLeaseId: null,
            disconnectLeaseUntil: null,
          },
        });
        const changes =
          account.status === 'disconnected'
            ? []
            : disconnectChanges([{ id, from: account.status }], othersOpen === 0);
        return markDisconnected(tx, this.events, userId, changes, id, caller);
      }
      await tx.plaidItem.update({
        where: { id: plaidItemId },
        data: { status: 'disconnected', disconnectLeaseId: null, disconnectLeaseUntil: null },
      });
      const open = await tx.bankAccount.findMany({
        where: { plaidItemId, status: { not: 'disconnected' } },
        select: { id: true, status: true },
      });
      const changes = disconnectChanges(
        open.map((account) => ({ id: account.id, from: account.status })),
        true,
      );
      return markDisconnected(tx, this.events, userId, changes, id, caller);
    });
  }

  /** Gives up a disconnect lease that Bluum's call did not complete; only its holder's. */
  async releaseDisconnect(plaidItemId: string, leaseId: string): Promise<void> {
    await this.prisma.plaidItem.updateMany({
      where: { id: plaidItemId, disconnectLeaseId: leaseId },
      data: { disconnectLeaseId: null, disconnectLeaseUntil: null },
    });
  }

  /**
   * Brings the user's stored items in line with Bluum's list, in one transaction with the user locked,
   * by `planSync`'s rules (adds what is missing, takes Bluum's fields and statuses, keeps local
   * disconnects, leaves other users' items alone), and writes the audit events, saying `via` what
   * (a user's sync, or the reconciliation sweep).
   */
  async syncItems(
    userId: string,
    bluumAccountId: string,
    bluumItems: Parameters<typeof planSync>[1],
    caller: Caller,
    via: Extract<ChangeVia, 'sync' | 'reconcile'> = 'sync',
  ): Promise<SyncItemsResult> {
    return this.prisma.transaction(async (tx): Promise<SyncItemsResult> => {
      const refused = await lockUser(tx, userId, bluumAccountId);
      if (refused) return refused;
      const owners = await tx.plaidItem.findMany({
        where: { itemId: { in: bluumItems.map((i) => i.itemId) } },
        select: { itemId: true, userId: true },
      });
      const before = await accountStates(tx, { userId });
      const plan = planSync(
        userId,
        bluumItems,
        new Map(owners.map((owner) => [owner.itemId, owner.userId])),
        before,
      );
      const touched: string[] = [];
      for (const item of plan.store) touched.push(...(await upsertItem(tx, userId, item)).accountIds);
      // Bluum's list is the outcome of any disconnect whose lease expired (its process died mid-call):
      // the statuses just taken settle it, so the intent is cleared.
      await tx.$executeRaw`
        UPDATE plaid_items SET disconnect_lease_id = NULL, disconnect_lease_until = NULL
         WHERE user_id = ${userId} AND disconnect_lease_until <= now()`;
      const changes = accountChanges(before, await accountStates(tx, { id: { in: touched } }));
      await this.events.record(tx, userId, changes, via, caller);
      return { kind: 'synced', ...syncCounts(changes), skipped: plan.skipped };
    });
  }
}

type Tx = Transaction;

// Locks the user so its Bluum account cannot change under us (see UsersRepository.upsert).
async function lockUser(tx: Tx, userId: string, bluumAccountId: string): Promise<UserLockFailure | null> {
  const [user] = await tx.$queryRaw<{ bluum_account_id: string }[]>`
    SELECT bluum_account_id FROM users WHERE id = ${userId} FOR UPDATE`;
  if (!user) return { kind: 'user-not-found' };
  return user.bluum_account_id === bluumAccountId ? null : { kind: 'bluum-account-changed' };
}

async function activeItemsAt(
  db: Pick<Tx, 'plaidItem'>,
  userId: string,
  institutionId: string,
): Promise<ItemWithFundingSources[]> {
  const order = [
    { createdAt: 'asc' },
    { id: 'asc' },
  ] as const satisfies Prisma.PlaidItemOrderByWithRelationInput[];
  const items = await db.plaidItem.findMany({
    where: {
      userId,
      status: 'active',
      OR: [{ institutionId }, { institutionId: null, claimedInstitutionId: institutionId }],
    },
    orderBy: [...order],
    select: {
      itemId: true,
      institutionId: true,
      claimedInstitutionId: true,
      status: true,
      accounts: { select: FUNDING_SOURCE_SELECT, orderBy: [...order] },
    },
  });
  // The duplicate rules compare the institution each item is keyed by: Bluum's, else the claim.
  return items.map(({ accounts, claimedInstitutionId, ...item }) => ({
    ...item,
    institutionId: item.institutionId ?? claimedInstitutionId,
    fundingSources: accounts.map(toRecord),
  }));
}

async function accountStates(tx: Tx, where: Prisma.BankAccountWhereInput): Promise<AccountState[]> {
  return tx.bankAccount.findMany({ where, select: ACCOUNT_STATE_SELECT });
}

/** Applies disconnect `changes` with their events, and returns the funding source `returnId`. */
async function markDisconnected(
  tx: Tx,
  events: FundingSourceEvents,
  userId: string,
  changes: Change[],
  returnId: string,
  caller: Caller,
): Promise<FundingSourceRecord> {
  if (changes.length > 0) {
    await tx.bankAccount.updateMany({
      where: { id: { in: changes.map((change) => change.fundingSourceId) } },
      data: { status: 'disconnected' },
    });
    await events.record(tx, userId, changes, 'disconnect', caller);
  }
  return toRecord(
    await tx.bankAccount.findUniqueOrThrow({ where: { id: returnId }, select: FUNDING_SOURCE_SELECT }),
  );
}

// What upsertItem reads of a stored item: its id and every field Bluum decides (ItemToStore's, but
// for the accounts; an account's are ACCOUNT_STATE_SELECT). The type checker holds both selects to the
// fields upsertItem writes only when they differ: a field written but not read would look changed on
// every sync.
const ITEM_SELECT = {
  id: true,
  status: true,
  ...ITEM_COPIES,
  bluumFundingSourceId: true,
} as const satisfies Prisma.PlaidItemSelect & Record<keyof Omit<ItemToStore, 'accounts'>, true>;

/**
 * Creates or updates an item (by itemId) and each of its accounts (by accountId), writing only what
 * differs from what is stored: a sync or reconciliation sweep that finds nothing new writes nothing,
 * so `updatedAt` moves only when a funding source changed (and the sweep is not a write of every row).
 * Every account of the item, those Bluum no longer lists too, carries the item's copied fields
 * (ITEM_COPIES), written in this same transaction whenever they differ from the item's.
 */
async function upsertItem(
  tx: Tx,
  userId: string,
  { accounts, itemId, ...fromBluum }: ItemToStore,
): Promise<{ item: LinkedItemRecord; accountIds: string[] }> {
  const stored = await tx.plaidItem.findUnique({
    where: { itemId },
    select: { ...ITEM_SELECT, accounts: { select: ACCOUNT_STATE_SELECT } },
  });
  // An institution id Bluum named once is not erased by a later sync or reconnect that lacks it. A
  // client's claim is never written here: it has a column of its own (saveLinkedItem).
  const itemFields = {
    ...fromBluum,
    institutionId: fromBluum.institutionId ?? stored?.institutionId ?? null,
  };
  const item =
    stored === null
      ? await tx.plaidItem.create({ data: { userId, itemId, ...itemFields }, select: ITEM_SELECT })
      : differs(stored, itemFields)
        ? await tx.plaidItem.update({ where: { id: stored.id }, data: itemFields, select: ITEM_SELECT })
        : stored;
  if (stored?.institutionName !== item.institutionName) {
    await tx.institutionName.createMany({ data: { name: item.institutionName }, skipDuplicates: true });
  }
  // An account a transfer names by plaid_options carries its item's Bluum id as well (Bluum's DELETE takes
  // the item's); one with a funding source id of its own keeps that.
  const copies = itemCopies(item);
  const withItemId = { ...copies, bluumFundingSourceId: item.bluumFundingSourceId };
  // Judged on the accounts themselves, not on whether the item changed: an account whose copies fell
  // behind (written by a version that did not keep them all) is brought in line by the next sync.
  for (const [transferBy, wanted] of [
    ['plaid_options', withItemId],
    ['funding_source_id', copies],
  ] as const) {
    const behind = (stored?.accounts ?? []).filter(
      (account) => account.transferBy === transferBy && differs(account, wanted),
    );
    if (behind.length > 0) {
      await tx.bankAccount.updateMany({
        where: { id: { in: behind.map((account) => account.id) } },
        data: wanted,
      });
    }
  }
  const storedAccounts = new Map((stored?.accounts ?? []).map((account) => [account.accountId, account]));
  const accountIds: string[] = [];
  for (const { accountId, ...accountFields } of accounts) {
    const current = storedAccounts.get(accountId);
    if (current === undefined) {
      const created = await tx.bankAccount.create({
        data: { plaidItemId: item.id, userId, accountId, ...accountFields, ...copies },
        select: { id: true },
      });
      accountIds.push(created.id);
      continue;
    }
    if (differs(current, accountFields)) {
      await tx.bankAccount.update({ where: { id: current.id }, data: accountFields });
    }
    accountIds.push(current.id);
  }
  const { itemId: storedItemId, institutionId, institutionName, status } = item;
  return { item: { itemId: storedItemId, institutionId, institutionName, status }, accountIds };
}

/** Whether any of `wanted`'s fields is not what `stored` holds. */
function differs<T extends object>(stored: T, wanted: Partial<T>): boolean {
  return (Object.keys(wanted) as (keyof T)[]).some((key) => stored[key] !== wanted[key]);
}
