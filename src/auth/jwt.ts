// The claims this service reads from a bearer token (verified by TokenVerifier), and HS256 signing for
// the tokens this service or its tests mint with the shared secret (the sandbox's demo users, e2e tests,
// the benchmark). Verification never happens here.
import { createHmac } from 'node:crypto';

export interface JwtClaims {
  sub: string;
  /** The token's roles hold AUTH_ADMIN_ROLE. */
  admin: boolean;
  /**
   * Space-separated scopes (`scope`, and `scp` when the provider sends an array): a service token's
   * only. A provider token's scopes count only when its client is one of AUTH_SERVICE_CLIENTS.
   */
  scope: string;
  exp: number;
  /**
   * A service's token (an AUTH_SERVICE_KEYS key's, or a provider token of AUTH_SERVICE_CLIENTS): it acts
   * by its scopes or admin flag only, never as a user, whatever its subject is called.
   */
  service: boolean;
}

/** `kid`: the AUTH_SERVICE_KEYS entry whose secret signs it. */
export function signHs256(payload: object, secret: string, { kid }: { kid?: string } = {}): string {
  const header = Buffer.from(
    JSON.stringify({ alg: 'HS256', typ: 'JWT', ...(kid === undefined ? {} : { kid }) }),
  ).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}
