import { createHmac } from 'node:crypto';
import type { BluumApiVersion } from '../config/config-schema';

// Bluum's investors generation refuses an id without its inv_ prefix, so there the demo account is one.
const PREFIXES: Record<BluumApiVersion, string> = { accounts: 'sbx_', investors: 'inv_sbx_' };

/**
 * The Bluum account the sandbox registers its demo user `userId` under: `sbx_` (`inv_sbx_` for Bluum's
 * investors generation) and 24 hex digits of an HMAC of the id under the token-signing secret, so nobody
 * who could not already sign a token can register a user that the sandbox takes for its own. Users
 * (PUT /v1/users) refuses to move such a user: a demo token already signed for it would then act on a
 * real account.
 */
export function demoBluumAccount(
  secret: string,
  userId: string,
  version: BluumApiVersion = 'accounts',
): string {
  const mac = createHmac('sha256', secret).update(`bluum-sandbox demo user\0${userId}`).digest('hex');
  return `${PREFIXES[version]}${mac.slice(0, 24)}`;
}

/**
 * Whether `account` is one the sandbox derives for demo user `userId`, in either generation: a demo user
 * registered while the service spoke the other one is still the sandbox's own.
 */
export function isDemoBluumAccount(secret: string, userId: string, account: string): boolean {
  return (Object.keys(PREFIXES) as BluumApiVersion[]).some(
    (version) => demoBluumAccount(secret, userId, version) === account,
  );
}
