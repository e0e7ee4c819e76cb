// The sandbox's side of linking a bank: Plaid's sandbox banks, the hosted link's sessions and the public
// tokens they issue, which the Bluum stand-in exchanges for items (`StandInLinking`). Development only, one
// process: kept in memory and gone on restart, as a sandbox may; production state never lives here.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { StandInItem, StandInLinking, TokenRefusal } from './bluum-stand-in';

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

/** Well-formed sandbox public token; `public-sandbox-expired-…` plays one that is past its 30 minutes. */
export const SANDBOX_PUBLIC_TOKEN = /^public-sandbox-[A-Za-z0-9-]{8,200}$/;

const randomId = (prefix: string): string =>
  `${prefix}${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

export class BluumSandboxStore implements StandInLinking {
  private readonly usedTokens = new Set<string>();
  private readonly linkSessions = new Map<string, LinkSession>();
  /** Public tokens the hosted link issued, with the institution the person picked. */
  private readonly hostedPublicTokens = new Map<string, SandboxInstitution>();

  /**
   * The completion URI is bound to the token here, so a hosted link URL cannot be edited into an open
   * redirect. Like Plaid's, the hosted URL (this app's /sandbox/link) carries only the session.
   */
  issueLinkToken(
    options: { hosted: boolean; completionRedirectUri: string | null; origin: string },
    now = Date.now(),
  ): { linkToken: string; hostedLinkUrl: string | null } {
    for (const [token, session] of this.linkSessions) {
      if (session.expiresAt <= now) this.linkSessions.delete(token);
    }
    const linkToken = `link-sandbox-${randomUUID()}`;
    this.linkSessions.set(linkToken, {
      completionRedirectUri: options.completionRedirectUri,
      expiresAt: now + LINK_TOKEN_TTL_MS,
      done: false,
    });
    if (!options.hosted) return { linkToken, hostedLinkUrl: null };
    const hosted = new URL('/sandbox/link', options.origin);
    hosted.searchParams.set('token', linkToken);
    return { linkToken, hostedLinkUrl: hosted.toString() };
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
  exchange(publicToken: string): StandInItem | TokenRefusal {
    if (!SANDBOX_PUBLIC_TOKEN.test(publicToken)) return 'invalid';
    if (publicToken.startsWith('public-sandbox-expired-')) return 'expired';
    if (this.usedTokens.has(publicToken)) return 'used';
    this.usedTokens.add(publicToken);

    // A hosted-link token links the bank the person picked; any other well-formed token picks one from
    // its hash, so a given token always links the same bank.
    const seed = createHash('sha256').update(publicToken).digest();
    const institution =
      this.hostedPublicTokens.get(publicToken) ?? SANDBOX_INSTITUTIONS[seed[0] % SANDBOX_INSTITUTIONS.length];
    this.hostedPublicTokens.delete(publicToken);
    const now = new Date().toISOString();
    return {
      id: randomUUID(),
      itemId: randomId('item_'),
      institutionId: institution.id,
      institutionName: institution.name,
      status: 'ACTIVE',
      accounts: SANDBOX_ACCOUNTS.slice(0, institution.accounts).map((account) => ({
        id: randomUUID(),
        accountId: randomId('acc_'),
        accountType: 'depository',
        ...account,
      })),
      createdAt: now,
      updatedAt: now,
    };
  }
}
