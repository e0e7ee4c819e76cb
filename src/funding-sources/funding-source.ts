// The funding source's shapes, declared once: what is stored, what the API answers, the statuses and
// the audit trail's event types. The DTO classes implement these types for Swagger; the repository reads
// rows into `FundingSourceRecord`; nothing else spells out the fields.

export const FUNDING_SOURCE_STATUSES = ['active', 'error', 'disconnected'] as const;
export type FundingSourceStatus = (typeof FUNDING_SOURCE_STATUSES)[number];

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
  accountId: string;
  bluumFundingSourceId: string | null;
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

/** A funding source as the API answers it: the record, `plaidOptions` for Bluum, ISO 8601 times. */
export type FundingSource = Omit<FundingSourceRecord, 'createdAt' | 'updatedAt'> & {
  plaidOptions: { item_id: string; account_id: string };
  createdAt: string;
  updatedAt: string;
};

export interface ConnectResponse {
  item: LinkedItemRecord;
  fundingSources: FundingSource[];
}

// Field by field: an object rest and spread here cost more than the rest of the mapping (a CPU profile).
export function toFundingSource(record: FundingSourceRecord): FundingSource {
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
    accountId: record.accountId,
    bluumFundingSourceId: record.bluumFundingSourceId,
    plaidOptions: { item_id: record.itemId, account_id: record.accountId },
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
  };
}

export function toConnectResponse({ item, fundingSources }: LinkedItem): ConnectResponse {
  return { item, fundingSources: fundingSources.map(toFundingSource) };
}
