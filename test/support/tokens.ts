// Bearer tokens for the e2e suite, signed like the identity provider's.
import { createHmac } from 'node:crypto';
import { signHs256 } from '../../src/auth/jwt';

export const TEST_JWT_SECRET = 'e2e-secret-0123456789abcdef0123456789abcdef';

interface TokenOptions {
  roles?: string[];
  scope?: string;
  expiresInSeconds?: number;
  secret?: string;
}

export function tokenFor(sub: string, options: TokenOptions = {}): string {
  const iat = Math.floor(Date.now() / 1000);
  const exp = iat + (options.expiresInSeconds ?? 600);
  return signHs256(
    {
      sub,
      iat,
      exp,
      ...(options.roles ? { roles: options.roles } : {}),
      ...(options.scope ? { scope: options.scope } : {}),
    },
    options.secret ?? TEST_JWT_SECRET,
  );
}

export const adminToken = (): string => tokenFor('admin-1', { roles: ['admin'] });

/** A token with any header and payload, signed with the test secret over exactly those bytes. */
export function rawToken(header: object, payload: object, secret = TEST_JWT_SECRET): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
}

/** A deposit service's token: it may read funding sources, nothing else. */
export const depositServiceToken = (sub = 'svc-deposits'): string =>
  tokenFor(sub, { scope: 'funding-sources:read' });
