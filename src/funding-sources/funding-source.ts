// The funding source's shapes, declared once: what is stored, what the API answers, the statuses and
// the audit trail's event types. The DTO classes implement these types for Swagger; the repository reads
// rows into `FundingSourceRecord`; nothing else spells out the fields.

export const FUNDING_SOURCE_STATUSES = ['active', 'error', 'disconnected'] as const;
export type FundingSourceStatus = (typeof FUNDING_SOURCE_STATUSES)[number];

/**
 * How a deposit or withdrawal request to Bluum names a bank account: `plaid_options` with the item's and
 * Plaid's account ids (Bluum's accounts generation), or `funding_source_id`, Bluum's own id for the account
 * (its investors generation, which gives no Plaid account id).
 */
export const TRANSFER_BY = ['plaid_options', 'funding_source_id'] as const;
export type TransferBy = (typeof TRANSFER_BY)[number];

/** The audit trail's event types. */
export const FUNDING_SOURCE_EVENT_TYPES = ['linked', 'updated', 'status_changed', 'disconnected'] as const;
export type FundingSourceEventType = (typeof FUNDING_SOURCE_EVENT_TYPES)[number];

/** A stored bank account together with its Plaid item. */
export interface FundingSourceRecord {
  id: string;
  userId: string;
  status: FundingSourceStatus;
  institutionId: string | null;
  institutionName: string;
  accountName: string;
  accountType: string;
  accountSubtype: string | null;
  mask: string;
  itemId: string;
  /** What Bluum identifies the account by: Plaid's account id, or (transferBy funding_source_id) its fs_… id. */
  accountId: string;
  /** The id Bluum's DELETE takes: the item's, or the account's own fs_… id. */
  bluumFundingSourceId: string | null;
  transferBy: TransferBy;
  createdAt: Date;
  updatedAt: Date;
}

/** A stored Plaid item, as the connect response shows it. */
export interface LinkedItemRecord {
  itemId: string;
  institutionId: string | null;
  institutionName: string;
  status: FundingSourceStatus;
}

/** An item just stored, with its funding sources in Bluum's account order (the order Plaid Link showed). */
export interface LinkedItem {
  item: LinkedItemRecord;
  fundingSources: FundingSourceRecord[];
}

export interface PlaidOptions {
  item_id: string;
  account_id: string;
}

/** Exactly what a deposit or withdrawal request to Bluum merges in to name this bank account. */
export type TransferOptions = { plaid_options: PlaidOptions } | { funding_source_id: string };

/**
 * A funding source as the API answers it: the record, what a transfer at Bluum takes, ISO 8601 times.
 * Where Bluum gives no Plaid account id (transfers by funding_source_id), `accountId` and `plaidOptions`
 * are null.
 */
export type FundingSource = Omit<
  FundingSourceRecord,
  'accountId' | 'transferBy' | 'createdAt' | 'updatedAt'
> & {
  accountId: string | null;
  plaidOptions: PlaidOptions | null;
  transferOptions: TransferOptions;
  createdAt: string;
  updatedAt: string;
};

export interface ConnectResponse {
  item: LinkedItemRecord;
  fundingSources: FundingSource[];
}

// Field by field: an object rest and spread here cost more than the rest of the mapping (a CPU profile).
export function toFundingSource(record: FundingSourceRecord): FundingSource {
  const plaidOptions =
    record.transferBy === 'plaid_options' ? { item_id: record.itemId, account_id: record.accountId } : null;
  return {
    id: record.id,
    userId: record.userId,
    status: record.status,
    institutionId: record.institutionId,
    institutionName: record.institutionName,
    accountName: record.accountName,
    accountType: record.accountType,
    accountSubtype: record.accountSubtype,
    mask: record.mask,
    itemId: record.itemId,
    accountId: plaidOptions === null ? null : record.accountId,
    bluumFundingSourceId: record.bluumFundingSourceId,
    plaidOptions,
    // A funding_source_id row always has its fs_… id (the investors adapter refuses a row without one).
    transferOptions:
      plaidOptions === null
        ? { funding_source_id: record.bluumFundingSourceId ?? record.accountId }
        : { plaid_options: plaidOptions },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

export function toConnectResponse({ item, fundingSources }: LinkedItem): ConnectResponse {
  return { item, fundingSources: fundingSources.map(toFundingSource) };
}
