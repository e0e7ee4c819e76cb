// Verifies HS256 bearer tokens. Only HS256 is accepted (never `none` or another algorithm), and `exp` is required.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { USER_ID_PATTERN } from '../users/dto/user-id.param';

export interface JwtClaims {
  sub: string;
  roles: string[];
  scope: string;
  exp: number;
}

export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;

function decodeJson(segment: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidTokenError('segment is not base64url JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidTokenError('segment is not a JSON object');
  }
  return value as Record<string, unknown>;
}

export function signHs256(payload: object, secret: string): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${body}`).digest('base64url');
  return `${header}.${body}.${signature}`;
}

/** Returns the token's claims, or throws InvalidTokenError. `nowSeconds` is injectable for tests. */
export function verifyHs256(token: string, secret: string, nowSeconds = Date.now() / 1000): JwtClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => BASE64URL.test(p))) {
    throw new InvalidTokenError('not a compact JWS');
  }
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJson(headerPart);
  if (header.alg !== 'HS256') throw new InvalidTokenError('algorithm is not HS256');

  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  const actual = Buffer.from(signaturePart, 'base64url');
  // Re-encoding rejects non-canonical base64url spellings of the same bytes.
  if (
    actual.length !== expected.length ||
    actual.toString('base64url') !== signaturePart ||
    !timingSafeEqual(actual, expected)
  ) {
    throw new InvalidTokenError('bad signature');
  }

  const claims = decodeJson(payloadPart);
  const { sub, exp, nbf, roles, scope } = claims;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) throw new InvalidTokenError('exp is required');
  if (exp <= nowSeconds) throw new InvalidTokenError('token expired');
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds))
    throw new InvalidTokenError('not yet valid');
  if (typeof sub !== 'string' || sub.length === 0) throw new InvalidTokenError('sub is required');
  // sub is the user id: written to the audit trail, idempotency keys and rate limits, so it must be one.
  if (!USER_ID_PATTERN.test(sub)) throw new InvalidTokenError('sub is not a valid user id');
  if (roles !== undefined && (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string'))) {
    throw new InvalidTokenError('roles must be an array of strings');
  }
  if (scope !== undefined && typeof scope !== 'string') throw new InvalidTokenError('scope must be a string');
  return { sub, exp, roles: roles ?? [], scope: scope ?? '' };
}
