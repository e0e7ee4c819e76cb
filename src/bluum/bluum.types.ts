// Our own view of Bluum's data, independent of its wire format (snake_case or camelCase).

export type BluumItemStatus = 'ACTIVE' | 'DISCONNECTED' | 'ERROR';

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
