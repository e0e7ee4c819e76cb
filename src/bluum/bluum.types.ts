// Our own view of Bluum's data, independent of its wire format (snake_case or camelCase).

/** An item's statuses as Bluum lists them. */
export const BLUUM_ITEM_STATUSES = ['ACTIVE', 'ERROR', 'DISCONNECTED'] as const;
export type BluumItemStatus = (typeof BLUUM_ITEM_STATUSES)[number];

export interface BluumAccount {
  /**
   * What Bluum identifies the bank account by, and what it is stored under: Plaid's account id in the
   * accounts generation, the bank account's own `fs_…` funding source id in the investors generation.
   */
  accountId: string;
  /**
   * Bluum's id for this one bank account as a funding source, which its transfers take as
   * `funding_source_id` and its DELETE takes (investors); null where Bluum gives none and transfers take
   * `plaid_options` with Plaid's account id instead (accounts).
   */
  fundingSourceId: string | null;
  /** The account's own status where Bluum gives one per account (investors); else the item's holds. */
  status?: BluumItemStatus;
  accountName: string;
  accountType: string;
  accountSubtype: string | null;
  mask: string;
}

export interface BluumItem {
  /** Bluum's funding-source id for the whole item, when it has one (accounts); null where each account has its own. */
  id: string | null;
  itemId: string;
  institutionId: string | null;
  institutionName: string;
  status: BluumItemStatus;
  accounts: BluumAccount[];
}

export interface BluumLinkToken {
  linkToken: string;
  hostedLinkUrl: string | null;
}
