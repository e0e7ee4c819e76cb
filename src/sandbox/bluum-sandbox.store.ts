// The sandbox's state. Development only, one process: kept in memory and gone on restart, as a
// sandbox may; production state never lives here.
import { createHash, randomBytes, randomUUID } from 'node:crypto';

export interface SandboxAccount {
  id: string;
  accountId: string;
  accountName: string;
  accountType: string;
  accountSubtype: string;
  mask: string;
}

export interface SandboxItem {
  id: string;
  itemId: string;
  institutionId: string;
  institutionName: string;
  status: 'ACTIVE' | 'DISCONNECTED' | 'ERROR';
  accounts: SandboxAccount[];
  createdAt: string;
  updatedAt: string;
}

// Plaid's own sandbox institutions.
export const SANDBOX_INSTITUTIONS = [
  { id: 'ins_109508', name: 'First Platypus Bank' },
  { id: 'ins_109509', name: 'First Gingham Credit Union' },
  { id: 'ins_109510', name: 'Tattersall Federal Credit Union' },
  { id: 'ins_109511', name: 'Tartan Bank' },
  { id: 'ins_109512', name: 'Houndstooth Bank' },
] as const;

const SANDBOX_ACCOUNTS = [
  { accountName: 'Plaid Checking', accountSubtype: 'checking', mask: '0000' },
  { accountName: 'Plaid Saving', accountSubtype: 'savings', mask: '1111' },
  { accountName: 'Plaid Money Market', accountSubtype: 'money market', mask: '4444' },
] as const;

/** Well-formed sandbox public token; `public-sandbox-expired-…` plays one that is past its 30 minutes. */
export const SANDBOX_PUBLIC_TOKEN = /^public-sandbox-[A-Za-z0-9-]{8,200}$/;

export type ExchangeResult =
  { ok: true; item: SandboxItem } | { ok: false; reason: 'invalid' | 'used' | 'expired' };

const randomId = (prefix: string): string =>
  `${prefix}${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

export class BluumSandboxStore {
  private readonly usedTokens = new Set<string>();
  private readonly itemsByAccount = new Map<string, Map<string, SandboxItem>>();

  issueLinkToken(): string {
    return `link-sandbox-${randomUUID()}`;
  }

  /** Accepts each well-formed public token once and links an item of one to three accounts. */
  exchange(bluumAccountId: string, publicToken: string): ExchangeResult {
    if (!SANDBOX_PUBLIC_TOKEN.test(publicToken)) return { ok: false, reason: 'invalid' };
    if (publicToken.startsWith('public-sandbox-expired-')) return { ok: false, reason: 'expired' };
    if (this.usedTokens.has(publicToken)) return { ok: false, reason: 'used' };
    this.usedTokens.add(publicToken);

    // The token picks the institution and the number of accounts, so a given token always links the same bank.
    const seed = createHash('sha256').update(publicToken).digest();
    const institution = SANDBOX_INSTITUTIONS[seed[0] % SANDBOX_INSTITUTIONS.length];
    const accountCount = 1 + (seed[1] % SANDBOX_ACCOUNTS.length);
    const now = new Date().toISOString();
    const item: SandboxItem = {
      id: randomUUID(),
      itemId: randomId('item_'),
      institutionId: institution.id,
      institutionName: institution.name,
      status: 'ACTIVE',
      accounts: SANDBOX_ACCOUNTS.slice(0, accountCount).map((account) => ({
        id: randomUUID(),
        accountId: randomId('acc_'),
        accountType: 'depository',
        ...account,
      })),
      createdAt: now,
      updatedAt: now,
    };
    this.items(bluumAccountId).set(item.id, item);
    return { ok: true, item };
  }

  list(bluumAccountId: string): SandboxItem[] {
    return [...this.items(bluumAccountId).values()];
  }

  get(bluumAccountId: string, id: string): SandboxItem | undefined {
    return this.items(bluumAccountId).get(id);
  }

  disconnect(bluumAccountId: string, id: string): SandboxItem | undefined {
    const item = this.get(bluumAccountId, id);
    if (item) {
      item.status = 'DISCONNECTED';
      item.updatedAt = new Date().toISOString();
    }
    return item;
  }

  private items(bluumAccountId: string): Map<string, SandboxItem> {
    let items = this.itemsByAccount.get(bluumAccountId);
    if (!items) {
      items = new Map();
      this.itemsByAccount.set(bluumAccountId, items);
    }
    return items;
  }
}
