// Our own view of Bluum's data, independent of its wire format (snake_case or camelCase).

/** An item's statuses as Bluum lists them. */
export const BLUUM_ITEM_STATUSES = ['ACTIVE', 'ERROR', 'DISCONNECTED'] as const;
export type BluumItemStatus = (typeof BLUUM_ITEM_STATUSES)[number];

export interface BluumAccount {
  accountId: string;
  accountName: string;
  accountType: string;
  accountSubtype: string | null;
  mask: string;
}

export interface BluumItem {
  /** Bluum's funding-source id for the item, when it sends one. */
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
