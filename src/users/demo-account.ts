import { createHmac } from 'node:crypto';

/**
 * The Bluum account the sandbox registers its demo user `userId` under: `sbx_` and 24 hex digits of an
 * HMAC of the id under the token-signing secret, so nobody who could not already sign a token can register
 * a user that the sandbox takes for its own. Users (PUT /v1/users) refuses to move such a user: a demo token
 * already signed for it would then act on a real account.
 */
export function demoBluumAccount(secret: string, userId: string): string {
  const mac = createHmac('sha256', secret).update(`bluum-sandbox demo user\0${userId}`).digest('hex');
  return `sbx_${mac.slice(0, 24)}`;
}
