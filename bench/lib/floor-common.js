// What the benchmark's floors (bench/baseline-server.js, bench/stack-floor-server.js) share with each
// other, so that they differ only in the stack they stand for: the service's token check for HS256 bearer
// tokens, its user-id rule, its status filter, and the FundingSource it answers, key for key.
'use strict';
const { webcrypto } = require('node:crypto');

const USER_ID = /^[A-Za-z0-9._:|@-]{1,128}$/;
const STATUSES = { undefined: ['active', 'error'], all: ['active', 'error', 'disconnected'] };

// Token checks as the service's TokenVerifier makes them: the secret imported once as a WebCrypto HMAC
// key, the signature checked by WebCrypto, and a verified token reused for up to a minute (never past its
// exp) from a bounded cache, insertion order being the eviction order. Without the cache a floor would
// pay a signature check per request that the service does not.
const CLOCK_TOLERANCE_SECONDS = 5;
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 5_000;

/** `claims(authorizationHeader)`: the verified token's claims, or null. */
function tokenCheck(secret) {
  const key = webcrypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const verified = new Map();

  async function verifyAnew(token) {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
    if (head.alg !== 'HS256') return null;
    const ok = await webcrypto.subtle.verify(
      'HMAC',
      await key,
      Buffer.from(parts[2], 'base64url'),
      Buffer.from(`${parts[0]}.${parts[1]}`),
    );
    if (!ok) return null;
    const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
    if (typeof payload.exp !== 'number' || payload.exp <= Date.now() / 1000 - CLOCK_TOLERANCE_SECONDS)
      return null;
    if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) return null;
    return payload;
  }

  return async function claims(header) {
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
    const token = header.slice(7);
    const now = Date.now();
    const seen = verified.get(token);
    if (seen && seen.until > now) return seen.claims;
    const fresh = await verifyAnew(token).catch(() => null);
    if (!fresh) return null;
    verified.delete(token);
    if (verified.size >= VERIFIED_MAX_ENTRIES) verified.delete(verified.keys().next().value);
    verified.set(token, { claims: fresh, until: Math.min(fresh.exp * 1000, now + VERIFIED_TTL_MS) });
    return fresh;
  };
}

/** The service's rule: a user reads their own; an admin or a service with funding-sources:read reads any. */
function mayRead(token, userId) {
  const roles = Array.isArray(token.roles) ? token.roles : [];
  const scopes = typeof token.scope === 'string' ? token.scope.split(' ') : [];
  return token.sub === userId || roles.includes('admin') || scopes.includes('funding-sources:read');
}

/** A stored account (camelCase fields, Date times) as the API's FundingSource, in the service's key order. */
function fundingSource(row) {
  // How a transfer names the account, as the service shapes it (plaid_options or funding_source_id).
  const plaidOptions =
    row.transferBy === 'plaid_options' ? { item_id: row.itemId, account_id: row.accountId } : null;
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    institutionId: row.institutionId,
    institutionName: row.institutionName,
    accountName: row.name,
    accountType: row.type,
    accountSubtype: row.subtype,
    mask: row.mask,
    itemId: row.itemId,
    accountId: plaidOptions === null ? null : row.accountId,
    bluumFundingSourceId: row.bluumFundingSourceId,
    plaidOptions,
    transferOptions:
      plaidOptions === null
        ? { funding_source_id: row.bluumFundingSourceId ?? row.accountId }
        : { plaid_options: plaidOptions },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

module.exports = { USER_ID, STATUSES, tokenCheck, mayRead, fundingSource };
