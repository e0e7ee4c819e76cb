import type { FundingSourceStatus } from './dto/funding-source.dto';

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

export interface LinkedItemRecord {
  itemId: string;
  institutionId: string | null;
  institutionName: string;
  status: FundingSourceStatus;
}
