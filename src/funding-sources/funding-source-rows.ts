// The Prisma selects the funding-sources repositories share, each declared once: the columns a
// FundingSourceRecord is read from (the model API's paths: writes, events), and the columns a change is
// judged on. The read path's own SQL is in funding-source-reads.ts.
import type { Prisma } from '../generated/prisma/client';
import type { FundingSourceRecord, TransferBy } from './funding-source';
import type { AccountState } from './reconcile';

/**
 * The item's fields every account of it carries (bank_accounts' own columns of the same names), so that
 * the read path reads bank_accounts alone. Whatever writes one of these on plaid_items writes the
 * accounts' copies in the same transaction; today that is FundingSourceWrites' upsertItem alone.
 */
export const ITEM_COPIES = {
  itemId: true,
  institutionId: true,
  institutionName: true,
} as const satisfies Prisma.PlaidItemSelect & Prisma.BankAccountSelect;

export type ItemCopies = Prisma.BankAccountGetPayload<{ select: typeof ITEM_COPIES }>;

export function itemCopies({ itemId, institutionId, institutionName }: ItemCopies): ItemCopies {
  return { itemId, institutionId, institutionName };
}

// The columns a FundingSource needs, and nothing else: all of them the account's own, its item's fields
// included (the copies upsertItem keeps equal to the item's).
export const FUNDING_SOURCE_SELECT = {
  id: true,
  userId: true,
  status: true,
  accountId: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  ...ITEM_COPIES,
  bluumFundingSourceId: true,
  transferBy: true,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.BankAccountSelect;

type FundingSourceRow = Prisma.BankAccountGetPayload<{ select: typeof FUNDING_SOURCE_SELECT }>;

export function toRecord({
  name,
  type,
  subtype,
  transferBy,
  ...account
}: FundingSourceRow): FundingSourceRecord {
  // The column's CHECK constraint allows these two values alone.
  return {
    ...account,
    transferBy: transferBy as TransferBy,
    accountName: name,
    accountType: type,
    accountSubtype: subtype,
  };
}

// The item's fields as the account carries them (ITEM_COPIES): what the read path shows is what a
// change is judged on, and what upsertItem compares Bluum's account with: every field of AccountState
// (the type checker holds it), so a field written only when it changed is always one that was read.
export const ACCOUNT_STATE_SELECT = {
  id: true,
  accountId: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  status: true,
  ...ITEM_COPIES,
  bluumFundingSourceId: true,
  transferBy: true,
} as const satisfies Prisma.BankAccountSelect & Record<keyof AccountState, true>;
