// The sandbox's state. Development only, one process: kept in memory and gone on restart, as a
// sandbox may; production state never lives here.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { BluumItemStatus } from '../bluum/bluum.types';

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
  status: BluumItemStatus;
  accounts: SandboxAccount[];
  createdAt: string;
  updatedAt: string;
}

// Plaid's own sandbox institutions; `accounts` is how many accounts the hosted link links at each.
export const SANDBOX_INSTITUTIONS = [
  { id: 'ins_109508', name: 'First Platypus Bank', accounts: 2 },
  { id: 'ins_109509', name: 'First Gingham Credit Union', accounts: 1 },
  { id: 'ins_109510', name: 'Tattersall Federal Credit Union', accounts: 3 },
  { id: 'ins_109511', name: 'Tartan Bank', accounts: 2 },
  { id: 'ins_109512', name: 'Houndstooth Bank', accounts: 1 },
] as const;

type SandboxInstitution = (typeof SANDBOX_INSTITUTIONS)[number];

const SANDBOX_ACCOUNTS = [
  { accountName: 'Plaid Checking', accountSubtype: 'checking', mask: '0000' },
  { accountName: 'Plaid Saving', accountSubtype: 'savings', mask: '1111' },
  { accountName: 'Plaid Money Market', accountSubtype: 'money market', mask: '4444' },
] as const;

// Plaid Sandbox's credentials: anything else is the wrong password.
const SANDBOX_USERNAME = 'user_good';
const SANDBOX_PASSWORD = 'pass_good';

// Plaid's link tokens live four hours.
const LINK_TOKEN_TTL_MS = 4 * 60 * 60 * 1000;

interface LinkSession {
  completionRedirectUri: string | null;
  expiresAt: number;
  done: boolean;
}

export type LinkSessionResult =
  | { ok: true; completionRedirectUri: string | null }
  | { ok: false; reason: 'invalid_link_token' | 'invalid_institution' | 'invalid_credentials' };

/**
 * Whether a completion URI is one a browser may be sent to: an absolute http: or https: URL. Anything
 * else (`javascript:`, `data:`, `file:`, a relative path) is refused when the link token is made.
 */
export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

/** Well-formed sandbox public token; `public-sandbox-expired-…` plays one that is past its 30 minutes. */
export const SANDBOX_PUBLIC_TOKEN = /^public-sandbox-[A-Za-z0-9-]{8,200}$/;

export type ExchangeResult =
  { ok: true; item: SandboxItem } | { ok: false; reason: 'invalid' | 'used' | 'expired' };

const randomId = (prefix: string): string =>
  `${prefix}${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

export class BluumSandboxStore {
  private readonly usedTokens = new Set<string>();
  private readonly itemsByAccount = new Map<string, Map<string, SandboxItem>>();
  private readonly linkSessions = new Map<string, LinkSession>();
  /** Public tokens the hosted link issued, with the institution the person picked. */
  private readonly hostedPublicTokens = new Map<string, SandboxInstitution>();

  /** The completion URI is bound to the token here, so a hosted link URL cannot be edited into an open redirect. */
  issueLinkToken(completionRedirectUri: string | null = null, now = Date.now()): string {
    for (const [token, session] of this.linkSessions) {
      if (session.expiresAt <= now) this.linkSessions.delete(token);
    }
    const linkToken = `link-sandbox-${randomUUID()}`;
    this.linkSessions.set(linkToken, {
      completionRedirectUri,
      expiresAt: now + LINK_TOKEN_TTL_MS,
      done: false,
    });
    return linkToken;
  }

  /** Whether the hosted link may run for this link token: issued here, not expired, not yet completed. */
  openSession(linkToken: string, now = Date.now()): LinkSessionResult {
    const session = this.linkSessions.get(linkToken);
    if (!session || session.done || session.expiresAt <= now)
      return { ok: false, reason: 'invalid_link_token' };
    return { ok: true, completionRedirectUri: session.completionRedirectUri };
  }

  /**
   * The person's bank and credentials: user_good / pass_good get a public token for that bank (and end the
   * session); a wrong password leaves the session open for another try, as Plaid Link does.
   */
  completeSession(
    linkToken: string,
    institutionId: string,
    username: string,
    password: string,
    now = Date.now(),
  ): LinkSessionResult & { publicToken?: string } {
    const open = this.openSession(linkToken, now);
    if (!open.ok) return open;
    const institution = SANDBOX_INSTITUTIONS.find((candidate) => candidate.id === institutionId);
    if (!institution) return { ok: false, reason: 'invalid_institution' };
    if (username !== SANDBOX_USERNAME || password !== SANDBOX_PASSWORD) {
      return { ok: false, reason: 'invalid_credentials' };
    }
    (this.linkSessions.get(linkToken) as LinkSession).done = true;
    const publicToken = `public-sandbox-${randomUUID()}`;
    this.hostedPublicTokens.set(publicToken, institution);
    return { ...open, publicToken };
  }

  /** The person closed the hosted link: the session ends without a public token. */
  exitSession(linkToken: string, now = Date.now()): LinkSessionResult {
    const open = this.openSession(linkToken, now);
    if (open.ok) (this.linkSessions.get(linkToken) as LinkSession).done = true;
    return open;
  }

  /** Accepts each well-formed public token once and links an item of one to three accounts. */
  exchange(bluumAccountId: string, publicToken: string): ExchangeResult {
    if (!SANDBOX_PUBLIC_TOKEN.test(publicToken)) return { ok: false, reason: 'invalid' };
    if (publicToken.startsWith('public-sandbox-expired-')) return { ok: false, reason: 'expired' };
    if (this.usedTokens.has(publicToken)) return { ok: false, reason: 'used' };
    this.usedTokens.add(publicToken);

    // A hosted-link token links the bank the person picked; any other well-formed token picks one from
    // its hash, so a given token always links the same bank.
    const seed = createHash('sha256').update(publicToken).digest();
    const institution =
      this.hostedPublicTokens.get(publicToken) ?? SANDBOX_INSTITUTIONS[seed[0] % SANDBOX_INSTITUTIONS.length];
    this.hostedPublicTokens.delete(publicToken);
    const accountCount = institution.accounts;
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

  /**
   * What Bluum would come to see without anyone calling it: the item goes into `ERROR` (the user changed
   * the bank password), `DISCONNECTED` (Bluum or the user revoked it), or back to `ACTIVE`. Found by
   * Plaid's item id, the id our API shows as `itemId`; undefined when the account has no such item.
   */
  setStatus(bluumAccountId: string, itemId: string, status: BluumItemStatus): SandboxItem | undefined {
    const item = this.list(bluumAccountId).find((candidate) => candidate.itemId === itemId);
    if (item && item.status !== status) {
      item.status = status;
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
