// Verifies bearer tokens with jose: the identity provider's (RS256, ES256 or EdDSA, keys from its JWKS),
// each service's own HS256 key (AUTH_SERVICE_KEYS, named by the token's `kid`) and the end users' shared
// HS256 secret (AUTH_JWT_SECRET). No hand-written JOSE.
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { webcrypto } from 'node:crypto';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError } from '../common/app-error';
import type { AuthConfig } from '../config/app-config';
import type { ServiceKey } from '../config/config-schema';
import { AUTH_CONFIG } from '../config/config.module';
import { USER_ID_PATTERN } from '../users/dto/user-id.param';
import type { JwtClaims } from './jwt';

export class InvalidTokenError extends Error {
  override readonly name = 'InvalidTokenError';
}

// Only these for the provider's keys: a public key can never be used as an HMAC secret, and `none` is
// never accepted anywhere.
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
// How far apart our clock and the token issuer's may be.
const CLOCK_TOLERANCE_SECONDS = 5;
// The provider's JWKS: refetched at most this often for an unknown kid (rotation), refreshed in the
// background this often; a fetch gives up after this long.
const JWKS_COOLDOWN_MS = 5_000;
const JWKS_MAX_AGE_MS = 10 * 60_000;
const JWKS_TIMEOUT_MS = 3_000;
const JWKS_RETRY_AFTER_FAILURE_MS = 1_000;
// Deposit services send the same token on every read, and a signature check is most of what a read costs
// (WebCrypto: ~37 µs a token, measured with `npm run bench --profile`): a token verified once is taken as
// verified for up to this long (never past its exp), from a bounded cache. The price: a key removed from
// the JWKS keeps verifying tokens already seen for up to this long.
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 5_000;

@Injectable()
export class TokenVerifier implements OnModuleDestroy {
  private readonly logger = new Logger(TokenVerifier.name);
  // Imported once: jose would import a raw secret again on every verification (measured: 63 µs a
  // token with the raw bytes, 37 µs with the key imported once).
  private readonly secret: Promise<webcrypto.CryptoKey> | null;
  /** kid → the service key's entry and its imported secret. */
  private readonly serviceKeys: ReadonlyMap<string, { entry: ServiceKey; key: Promise<webcrypto.CryptoKey> }>;
  private readonly secretUserOnly: boolean;
  private readonly maxLifetimeSeconds: number;
  private readonly providerKeys: JWTVerifyGetKey | null;
  private readonly rolesClaim: string;
  private readonly adminRole: string;
  private readonly serviceClients: ReadonlySet<string>;
  private readonly expected: { issuer?: string; audience?: string };
  /** Token → its claims and until when they may be reused; insertion order is the eviction order. */
  private readonly verified = new Map<string, { claims: JwtClaims; until: number }>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(@Inject(AUTH_CONFIG) config: AuthConfig) {
    this.secret = config.authJwtSecret === null ? null : importHmacKey(config.authJwtSecret);
    this.serviceKeys = new Map(
      config.authServiceKeys.map((entry) => [entry.kid, { entry, key: importHmacKey(entry.secret) }]),
    );
    this.secretUserOnly = config.authJwtSecretUserOnly;
    this.maxLifetimeSeconds = config.authMaxTokenLifetimeSeconds;
    this.providerKeys = config.authJwksUrl === null ? null : this.remoteKeys(new URL(config.authJwksUrl));
    this.rolesClaim = config.authRolesClaim;
    this.adminRole = config.authAdminRole;
    this.serviceClients = new Set(config.authServiceClients);
    this.expected = {
      ...(config.authIssuer !== null ? { issuer: config.authIssuer } : {}),
      ...(config.authAudience !== null ? { audience: config.authAudience } : {}),
    };
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
  }

  /**
   * The token's claims, or an InvalidTokenError; AUTH_PROVIDER_UNAVAILABLE when the provider's keys
   * have never been fetched and cannot be now. `now` is injectable for tests.
   */
  async verify(token: string, now = new Date()): Promise<JwtClaims> {
    const seen = this.verified.get(token);
    if (seen && seen.until > now.getTime()) return seen.claims;
    const claims = await this.verifyAnew(token, now);
    this.remember(token, claims, now.getTime());
    return claims;
  }

  private remember(token: string, claims: JwtClaims, now: number): void {
    this.verified.delete(token);
    if (this.verified.size >= VERIFIED_MAX_ENTRIES) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
    this.verified.set(token, { claims, until: Math.min(claims.exp * 1000, now + VERIFIED_TTL_MS) });
  }

  private async verifyAnew(token: string, now: Date): Promise<JwtClaims> {
    let header: { alg?: unknown; kid?: unknown; typ?: unknown };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new InvalidTokenError('not a JWS');
    }
    const { alg, kid } = header;
    // An HS256 token whose kid names a service key is that service's; any other is the end users' secret's.
    const service = alg === 'HS256' && typeof kid === 'string' ? this.serviceKeys.get(kid) : undefined;
    const key =
      alg === 'HS256'
        ? await (service?.key ?? this.secret)
        : ASYMMETRIC_ALGORITHMS.includes(alg as string)
          ? this.providerKeys
          : null;
    if (!key) throw new InvalidTokenError(`no key for algorithm ${String(alg)}`);
    const sharedKey = typeof key !== 'function';
    const options = {
      // A service key's token acts as its client, so its sub is not needed. A shared-key token must say
      // when it was issued in production: its lifetime is measured from then.
      requiredClaims: [
        'exp',
        ...(service ? [] : ['sub']),
        ...(sharedKey && (service || this.secretUserOnly) ? ['iat'] : []),
      ],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: now,
      ...this.expected,
    };
    let payload: JWTPayload;
    try {
      ({ payload } = sharedKey
        ? await jwtVerify(token, key, { ...options, algorithms: ['HS256'] })
        : await jwtVerify(token, key, { ...options, algorithms: ASYMMETRIC_ALGORITHMS }));
    } catch (err) {
      if (err instanceof errors.JOSEError || err instanceof TypeError) {
        throw new InvalidTokenError(err instanceof errors.JOSEError ? err.code : 'malformed');
      }
      throw err;
    }
    this.checkLifetime(payload, now);
    if (!sharedKey) checkAccessTokenShape(header, payload);
    if (service) return this.serviceClaims(payload, service.entry);
    return this.claims(payload, sharedKey);
  }

  /**
   * Refuses a token issued in the future, or valid for longer than AUTH_MAX_TOKEN_LIFETIME_SECONDS from
   * its iat (from now, for a token without one): a leaked long-lived token is a standing key.
   */
  private checkLifetime(payload: JWTPayload, now: Date): void {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const { iat, exp } = payload;
    if (typeof iat === 'number' && iat > nowSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new InvalidTokenError('iat is in the future');
    }
    const from = typeof iat === 'number' ? iat : nowSeconds;
    if ((exp as number) - from > this.maxLifetimeSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new InvalidTokenError('lifetime above AUTH_MAX_TOKEN_LIFETIME_SECONDS');
    }
  }

  /** A service key's token: its client, the scopes both it and the entry name, the entry's admin flag. */
  private serviceClaims(payload: JWTPayload, entry: ServiceKey): JwtClaims {
    const claimed = scopesOf(payload);
    const allowed = new Set<string>(entry.scopes);
    const scope =
      claimed === null ? entry.scopes : claimed.split(' ').filter((s) => s !== '' && allowed.has(s));
    return {
      sub: entry.client,
      exp: payload.exp as number,
      admin: entry.admin,
      scope: [...new Set(scope)].join(' '),
      service: true,
    };
  }

  private claims(payload: JWTPayload, signedWithSecret: boolean): JwtClaims {
    const { sub, exp } = payload;
    // sub is the user id: written to the audit trail, idempotency keys and rate limits, so it must be one.
    if (typeof sub !== 'string' || !USER_ID_PATTERN.test(sub))
      throw new InvalidTokenError('sub is not a user id');
    const roles = readClaim(payload, this.rolesClaim) ?? [];
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) {
      throw new InvalidTokenError('roles must be an array of strings');
    }
    const scopes = scopesOf(payload) ?? '';
    // In production whoever holds AUTH_JWT_SECRET (the end users' token issuer) can sign any sub, role
    // or scope: such a token is taken as its sub alone. Services use their own keys.
    if (signedWithSecret && this.secretUserOnly) {
      return { sub, exp: exp as number, admin: false, scope: '', service: false };
    }
    // An end user can often request any scope the API defines (Auth0 without RBAC; Keycloak's ID tokens
    // pass `aud`), so a provider token's scopes grant something only when a service client holds it.
    // An end user's scopes are ignored, not refused: their token still works for their own data.
    const serviceClient = !signedWithSecret && this.isServiceClient(payload);
    return {
      sub,
      exp: exp as number,
      admin: roles.includes(this.adminRole),
      scope: signedWithSecret || serviceClient ? scopes : '',
      service: serviceClient,
    };
  }

  /** The client the provider issued the token to: `azp` (OIDC), or `client_id` (RFC 9068). */
  private isServiceClient(payload: JWTPayload): boolean {
    const { azp, client_id: clientId } = payload;
    return (
      (typeof azp === 'string' && this.serviceClients.has(azp)) ||
      (typeof clientId === 'string' && this.serviceClients.has(clientId))
    );
  }

  /**
   * The provider's keys: fetched on first use, and again for an unknown kid (a rotation, at most every
   * JWKS_COOLDOWN_MS). A request never waits on the provider because the keys are old: they are refreshed
   * by a timer, and while the provider is unreachable the keys last fetched keep verifying (jose keeps
   * them when a refetch fails), so an outage logs nobody out. A key removed from the JWKS stops
   * verifying at the next successful refresh.
   */
  private remoteKeys(url: URL): JWTVerifyGetKey {
    const remote = createRemoteJWKSet(url, {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: Number.POSITIVE_INFINITY,
      timeoutDuration: JWKS_TIMEOUT_MS,
    });
    let unreachable = false;
    this.refreshTimer = setInterval(() => {
      remote.reload().then(
        () => {
          if (unreachable) this.logger.log('JWKS reachable again');
          unreachable = false;
        },
        (err: unknown) => {
          // Once per outage, not once per refresh.
          if (!unreachable)
            this.logger.warn(`JWKS unreachable (${describe(err)}): verifying with the keys last fetched`);
          unreachable = true;
        },
      );
    }, JWKS_MAX_AGE_MS);
    this.refreshTimer.unref();
    const unavailable = () =>
      new AppError(
        'AUTH_PROVIDER_UNAVAILABLE',
        "The identity provider's keys could not be fetched, so the token could not be checked.",
      );
    // While the keys have never been had, a failed fetch is tried again at most once a second: without
    // it, every request of an outage at boot would send one more fetch to the provider.
    let failedAt = Number.NEGATIVE_INFINITY;
    return async (header, token) => {
      if (remote.jwks() === undefined && Date.now() - failedAt < JWKS_RETRY_AFTER_FAILURE_MS) {
        throw unavailable();
      }
      try {
        return await remote(header, token);
      } catch (err) {
        // Never fetched: the token cannot be judged either way. A 401 would end a good session.
        if (remote.jwks() === undefined && isFetchFailure(err)) {
          failedAt = Date.now();
          throw unavailable();
        }
        throw err;
      }
    };
  }
}

// What only an ID token carries: a provider that puts our audience in its ID tokens (Keycloak's audience
// mappers do) would otherwise let a frontend's ID token, meant for the frontend, act as an access token.
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash'];

/**
 * Refuses a provider token shaped as an ID token rather than an access token: a `typ` header other than
 * JWT or RFC 9068's at+jwt, Keycloak's `typ: "ID"` claim, a claim only ID tokens carry, or an audience
 * that names the client the token was issued to (`azp`), which is what an ID token's `aud` is.
 */
function checkAccessTokenShape(header: { typ?: unknown }, payload: JWTPayload): void {
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase() : header.typ;
  if (typ !== undefined && typ !== 'jwt' && typ !== 'at+jwt' && typ !== 'application/at+jwt') {
    throw new InvalidTokenError('not an access token (typ)');
  }
  if (payload.typ === 'ID' || ID_TOKEN_CLAIMS.some((claim) => claim in payload)) {
    throw new InvalidTokenError('an ID token, not an access token');
  }
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (typeof payload.azp === 'string' && audiences.includes(payload.azp)) {
    throw new InvalidTokenError('an ID token, not an access token (aud names its own client)');
  }
}

function importHmacKey(secret: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
}

/**
 * OAuth's `scope` (space-separated) or `scp` (an array, as Okta and Azure AD send it), joined; null when
 * the token claims none.
 */
function scopesOf(payload: JWTPayload): string | null {
  const { scope, scp } = payload;
  if (scope !== undefined && typeof scope !== 'string') throw new InvalidTokenError('scope must be a string');
  if (scp !== undefined && (!Array.isArray(scp) || !scp.every((s) => typeof s === 'string'))) {
    throw new InvalidTokenError('scp must be an array of strings');
  }
  if (scope === undefined && scp === undefined) return null;
  return [scope ?? '', ...(scp ?? [])].join(' ').trim();
}

// A claim by name (e.g. "roles", or a namespaced "https://example.com/roles"), else by a dotted path
// (e.g. Keycloak's "realm_access.roles").
function readClaim(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

// The JWKS could not be had (network, timeout, an error status, not JSON), as opposed to a token whose
// key is not in it.
function isFetchFailure(err: unknown): boolean {
  return !(
    err instanceof errors.JWKSNoMatchingKey ||
    err instanceof errors.JWKSMultipleMatchingKeys ||
    err instanceof errors.JOSENotSupported
  );
}

function describe(err: unknown): string {
  return err instanceof errors.JOSEError ? err.code : err instanceof Error ? err.name : 'unknown';
}
