// The rules by which stored funding sources follow Bluum, as pure functions: which status Bluum's item
// means, what a sync stores, what counts as a change for the audit trail, and what a disconnect does
// next. The repository runs them inside its transactions, on rows it has just read under lock; the
// table-driven specs beside this file are where the rules are tested.
import type { BluumItem, BluumItemStatus } from '../bluum/bluum.types';
import type { Caller } from '../auth/caller';
import type { FundingSourceEventType, FundingSourceStatus, TransferBy } from './funding-source';

export const STATUS_FROM_BLUUM: Record<BluumItemStatus, FundingSourceStatus> = {
  ACTIVE: 'active',
  ERROR: 'error',
  DISCONNECTED: 'disconnected',
};

/** What Bluum decides about a stored item, with our status. */
interface ItemFields {
  itemId: string;
  bluumFundingSourceId: string | null;
  institutionId: string | null;
  institutionName: string;
  status: FundingSourceStatus;
}

/** What Bluum decides about a stored account, with our status. */
interface AccountFields {
  accountId: string;
  /** The id Bluum's DELETE takes for it: its own where Bluum gives one, else its item's. */
  bluumFundingSourceId: string | null;
  transferBy: TransferBy;
  name: string;
  type: string;
  subtype: string | null;
  mask: string;
  status: FundingSourceStatus;
}

/** An item as it is to be stored: Bluum's fields, our statuses. */
export interface ItemToStore extends ItemFields {
  accounts: AccountFields[];
}

/**
 * A stored account (by its id) with its item's fields, as far as Bluum decides them; a change in any
 * of it is an audit event. The account's status wins over the item's.
 */
export interface AccountState extends Omit<ItemFields, 'status'>, Omit<AccountFields, 'transferBy'> {
  id: string;
  /** As the column holds it (its CHECK constraint keeps it to TransferBy's values); only compared. */
  transferBy: string;
}

/** One audit event to write: what happened to which funding source. */
export interface Change {
  fundingSourceId: string;
  type: FundingSourceEventType;
  details: Record<string, unknown>;
}

/** How the change came about, recorded in each event's details ('reconcile': the periodic sweep). */
export type ChangeVia = 'connect' | 'sync' | 'disconnect' | 'reconcile';

/**
 * Bluum's item as we store it. `keepDisconnected` names accounts (by item and account id) the user
 * disconnected here: they stay disconnected whatever Bluum says, until a new connect brings them back.
 */
export function itemToStore(
  bluumItem: BluumItem,
  keepDisconnected: ReadonlySet<string> = new Set(),
): ItemToStore {
  const status = STATUS_FROM_BLUUM[bluumItem.status];
  return {
    itemId: bluumItem.itemId,
    bluumFundingSourceId: bluumItem.id,
    institutionId: bluumItem.institutionId,
    institutionName: bluumItem.institutionName,
    status,
    accounts: bluumItem.accounts.map((account) => ({
      accountId: account.accountId,
      bluumFundingSourceId: account.fundingSourceId ?? bluumItem.id,
      transferBy: account.fundingSourceId === null ? 'plaid_options' : 'funding_source_id',
      name: account.accountName,
      type: account.accountType,
      subtype: account.accountSubtype,
      mask: account.mask,
      status: keepDisconnected.has(accountKey(bluumItem.itemId, account.accountId))
        ? 'disconnected'
        : account.status === undefined
          ? status
          : STATUS_FROM_BLUUM[account.status],
    })),
  };
}

function accountKey(itemId: string, accountId: string): string {
  return JSON.stringify([itemId, accountId]);
}

/**
 * What a sync stores of Bluum's list: every item not stored for another user (those are left alone and
 * reported), with Bluum's fields and statuses, except that an account disconnected here stays so.
 */
export function planSync(
  userId: string,
  bluumItems: readonly BluumItem[],
  owners: ReadonlyMap<string, string>,
  before: readonly AccountState[],
): { store: ItemToStore[]; skipped: string[] } {
  const disconnectedHere = new Set(
    before.filter((row) => row.status === 'disconnected').map((row) => accountKey(row.itemId, row.accountId)),
  );
  const isForeign = (itemId: string): boolean => (owners.get(itemId) ?? userId) !== userId;
  return {
    store: bluumItems
      .filter((item) => !isForeign(item.itemId))
      .map((item) => itemToStore(item, disconnectedHere)),
    skipped: [...new Set(bluumItems.filter((item) => isForeign(item.itemId)).map((item) => item.itemId))],
  };
}

/** What happened to each account between two readings: linked, status changed, updated, or nothing. */
export function accountChanges(before: readonly AccountState[], after: readonly AccountState[]): Change[] {
  const previousById = new Map(before.map((row) => [row.id, row]));
  return after.flatMap((row): Change[] => {
    const previous = previousById.get(row.id);
    if (!previous) return [{ fundingSourceId: row.id, type: 'linked', details: { status: row.status } }];
    if (previous.status !== row.status) {
      return [
        {
          fundingSourceId: row.id,
          type: 'status_changed',
          details: { from: previous.status, to: row.status },
        },
      ];
    }
    return sameState(previous, row) ? [] : [{ fundingSourceId: row.id, type: 'updated', details: {} }];
  });
}

function sameState(a: AccountState, b: AccountState): boolean {
  return (Object.keys(a) as (keyof AccountState)[]).every((key) => a[key] === b[key]);
}

/** A sync's answer: accounts added (a lost connect recovered) and accounts whose stored state changed. */
export function syncCounts(changes: readonly Change[]): { added: number; updated: number } {
  const added = changes.filter((change) => change.type === 'linked').length;
  return { added, updated: changes.length - added };
}

/** One `disconnected` event per account, saying whether its item went at Bluum too. */
export function disconnectChanges(
  accounts: readonly { id: string; from: FundingSourceStatus }[],
  itemDisconnected: boolean,
): Change[] {
  return accounts.map((account) => ({
    fundingSourceId: account.id,
    type: 'disconnected',
    details: { from: account.from, itemDisconnected },
  }));
}

/**
 * The next step of a disconnect, judged with the item locked: an account already disconnected is
 * answered as is (disconnecting twice is harmless); one that is not its item's last active account is
 * disconnected here alone, unless Bluum holds it as a funding source of its own (its investors
 * generation), which Bluum must disconnect first, the last one too (Bluum revokes the item with it);
 * otherwise the last one needs Bluum to disconnect the item first.
 * Where Bluum is called, the caller takes a lease on the item, or waits when another request holds an
 * unexpired one.
 */
export type DisconnectStep = 'already-disconnected' | 'disconnect-account' | 'wait' | 'lease';

export function planDisconnect(state: {
  status: FundingSourceStatus;
  otherActiveAccounts: number;
  leaseHeld: boolean;
  /** Bluum holds the account as a funding source of its own (transfer_by funding_source_id). */
  ownFundingSource?: boolean;
}): DisconnectStep {
  if (state.status === 'disconnected') return 'already-disconnected';
  if (state.otherActiveAccounts > 0 && state.ownFundingSource !== true) return 'disconnect-account';
  return state.leaseHeld ? 'wait' : 'lease';
}

/** The audit rows of `changes`: who (the caller), in which request, and how. */
export function eventRows(
  userId: string,
  changes: readonly Change[],
  via: ChangeVia,
  caller: Caller,
): {
  userId: string;
  fundingSourceId: string;
  type: FundingSourceEventType;
  actor: Caller['actor'];
  requestId: string | null;
  details: Record<string, unknown>;
}[] {
  return changes.map((change) => ({
    userId,
    fundingSourceId: change.fundingSourceId,
    type: change.type,
    actor: { ...caller.actor },
    requestId: caller.requestId,
    // The caller's own X-Request-Id, when it sent one, beside ours (never instead of it).
    details: {
      ...change.details,
      via,
      ...(caller.clientRequestId ? { clientRequestId: caller.clientRequestId } : {}),
    },
  }));
}

/**
 * A bank as Plaid Link's metadata or Bluum's reply describes it. `itemId` is known from Bluum's reply
 * only: the same item connected again is an update of itself, never its own duplicate.
 */
export interface BankFingerprint {
  itemId?: string;
  institutionId: string | null;
  accounts: readonly { mask: string; name: string }[];
}

/** A stored item with its funding sources, as duplicate detection reads it. */
export interface StoredItemAccounts {
  itemId: string;
  institutionId: string | null;
  status: FundingSourceStatus;
  fundingSources: readonly { mask: string; accountName: string; status: FundingSourceStatus }[];
}

function accountSet(accounts: readonly { mask: string; name: string }[]): Set<string> {
  return new Set(accounts.map(({ mask, name }) => JSON.stringify([mask, name])));
}

/**
 * The stored item that `bank` would duplicate, or null: an ACTIVE item at the same institution whose
 * accounts still linked (not disconnected) have the same set of (mask, name), exactly, in any order.
 * An item in error or disconnected is no duplicate: linking the bank again is how a user repairs it. An
 * unknown institution matches nothing (Bluum's seed reply may lack it).
 */
export function findDuplicateItem<T extends StoredItemAccounts>(
  bank: BankFingerprint,
  stored: readonly T[],
): T | null {
  if (bank.institutionId === null) return null;
  const wanted = accountSet(bank.accounts);
  if (wanted.size === 0) return null;
  for (const item of stored) {
    if (item.status !== 'active' || item.institutionId !== bank.institutionId) continue;
    if (bank.itemId !== undefined && item.itemId === bank.itemId) continue;
    const linked = accountSet(
      item.fundingSources
        .filter((source) => source.status !== 'disconnected')
        .map((source) => ({ mask: source.mask, name: source.accountName })),
    );
    if (linked.size === wanted.size && [...wanted].every((key) => linked.has(key))) return item;
  }
  return null;
}

/** The audit changes of a connect that linked a duplicate of `duplicateOfItemId`: its `linked` events say so. */
export function markDuplicateLinks(changes: readonly Change[], duplicateOfItemId: string | null): Change[] {
  if (duplicateOfItemId === null) return [...changes];
  return changes.map((change) =>
    change.type === 'linked' ? { ...change, details: { ...change.details, duplicateOfItemId } } : change,
  );
}
