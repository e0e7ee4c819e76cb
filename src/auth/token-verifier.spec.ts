import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { configSlice, loadConfig } from '../config/app-config';
import { signHs256 } from './jwt';
import { InvalidTokenError, TokenVerifier } from './token-verifier';

const SECRET = 'unit-secret-0123456789abcdef0123456789';
const NOW = 1_800_000_000;
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const sign = (header: object, payload: object, secret = SECRET): string => {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
};
const HS256 = { alg: 'HS256', typ: 'JWT' };
const at = (seconds: number) => new Date(seconds * 1000);
/** The auth slice of the configuration `env` gives: all a TokenVerifier is given. */
const auth = (env: Record<string, string>) => configSlice(loadConfig(env), 'auth');
const verifier = (env: Record<string, string> = {}) =>
  new TokenVerifier(auth({ NODE_ENV: 'test', AUTH_JWT_SECRET: SECRET, ...env }));
/** The token's claims as the default verifier (the shared secret, no iss/aud) sees them at `now`. */
const verifyAt = (token: string, now: number) => verifier().verify(token, at(now));

describe('TokenVerifier with the shared secret (HS256)', () => {
  it('returns the claims of a valid token, with defaults for roles and scope', async () => {
    expect((await verifyAt(signHs256({ sub: 'b'.repeat(128), exp: NOW + 60 }, SECRET), NOW)).sub).toBe(
      'b'.repeat(128),
    );
    expect(await verifyAt(signHs256({ sub: 'user_1', exp: NOW + 60 }, SECRET), NOW)).toEqual({
      sub: 'user_1',
      exp: NOW + 60,
      admin: false,
      scope: '',
      service: false,
    });
    expect(
      await verifyAt(signHs256({ sub: 'a', exp: NOW + 1, roles: ['admin'], scope: 'x y' }, SECRET), NOW),
    ).toMatchObject({ admin: true, scope: 'x y' });
  });

  const rejected: [string, () => string][] = [
    ['another secret', () => sign(HS256, { sub: 'a', exp: NOW + 60 }, 'another-secret')],
    [
      'a tampered payload',
      () => {
        const [h, , s] = signHs256({ sub: 'a', exp: NOW + 60 }, SECRET).split('.');
        return `${h}.${b64({ sub: 'admin', exp: NOW + 60, roles: ['admin'] })}.${s}`;
      },
    ],
    ['alg none without a signature', () => `${b64({ alg: 'none' })}.${b64({ sub: 'a', exp: NOW + 60 })}.`],
    ['alg none with a signature', () => sign({ alg: 'none' }, { sub: 'a', exp: NOW + 60 })],
    ['alg HS512', () => sign({ alg: 'HS512' }, { sub: 'a', exp: NOW + 60 })],
    ['alg RS256', () => sign({ alg: 'RS256' }, { sub: 'a', exp: NOW + 60 })],
    ['no exp', () => sign(HS256, { sub: 'a' })],
    ['a string exp', () => sign(HS256, { sub: 'a', exp: String(NOW + 60) })],
    ['a token expired beyond the 5 s allowed for clock skew', () => sign(HS256, { sub: 'a', exp: NOW - 6 })],
    ['nbf in the future', () => sign(HS256, { sub: 'a', exp: NOW + 60, nbf: NOW + 30 })],
    ['no sub', () => sign(HS256, { exp: NOW + 60 })],
    ['an empty sub', () => sign(HS256, { sub: '', exp: NOW + 60 })],
    ['a string nbf', () => sign(HS256, { sub: 'a', exp: NOW + 60, nbf: String(NOW - 60) })],
    ['a numeric sub', () => sign(HS256, { sub: 42, exp: NOW + 60 })],
    ['a sub of 129 characters', () => sign(HS256, { sub: 'a'.repeat(129), exp: NOW + 60 })],
    ['a sub that is no user id', () => sign(HS256, { sub: 'a b/../c', exp: NOW + 60 })],
    ['roles that are not strings', () => sign(HS256, { sub: 'a', exp: NOW + 60, roles: [1] })],
    ['roles that are a string', () => sign(HS256, { sub: 'a', exp: NOW + 60, roles: 'admin' })],
    ['a non-string scope', () => sign(HS256, { sub: 'a', exp: NOW + 60, scope: ['x'] })],
    ['an empty token', () => ''],
    ['two segments', () => `${b64(HS256)}.${b64({ sub: 'a', exp: NOW + 60 })}`],
    ['four segments', () => `${sign(HS256, { sub: 'a', exp: NOW + 60 })}.x`],
    ['a header that is not JSON', () => `bm90LWpzb24.${b64({ sub: 'a', exp: NOW + 60 })}.sig`],
    [
      'a signed payload that is not JSON',
      () => {
        const unsigned = `${b64(HS256)}.${Buffer.from('{"sub":"a",').toString('base64url')}`;
        return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
      },
    ],
    [
      'a header that is a JSON string',
      () => `${Buffer.from('"HS256"').toString('base64url')}.${b64({})}.sig`,
    ],
    ['a payload that is a JSON array', () => sign(HS256, ['a'])],
    ['characters outside base64url', () => `${b64(HS256)}.${b64({ sub: 'a', exp: NOW + 60 })}.a+b/c=`],
  ];

  it.each(rejected)('rejects %s', async (_name, token) => {
    await expect(verifyAt(token(), NOW)).rejects.toThrow(InvalidTokenError);
  });

  it('judges exp and nbf against the clock, allowing 5 s of skew', async () => {
    const token = signHs256({ sub: 'a', nbf: NOW, exp: NOW + 60 }, SECRET);
    await expect(verifyAt(token, NOW)).resolves.toMatchObject({ sub: 'a' });
    await expect(verifyAt(token, NOW + 64)).resolves.toMatchObject({ sub: 'a' });
    await expect(verifyAt(token, NOW + 66)).rejects.toThrow(InvalidTokenError);
    await expect(verifyAt(token, NOW - 6)).rejects.toThrow(InvalidTokenError);
  });

  it('checks iss and aud on shared-secret tokens when they are set', async () => {
    const strict = verifier({ AUTH_ISSUER: 'https://id.example.com/', AUTH_AUDIENCE: 'bluum-bank-linking' });
    const claims = { sub: 'svc', exp: NOW + 60 };
    const good = signHs256({ ...claims, iss: 'https://id.example.com/', aud: 'bluum-bank-linking' }, SECRET);
    await expect(strict.verify(good, at(NOW))).resolves.toMatchObject({ sub: 'svc' });
    for (const bad of [
      { ...claims, aud: 'bluum-bank-linking' },
      { ...claims, iss: 'https://id.example.com/' },
      { ...claims, iss: 'https://id.example.com/', aud: 'some-other-service' },
      { ...claims, iss: 'https://evil.example/', aud: 'bluum-bank-linking' },
    ]) {
      await expect(strict.verify(signHs256(bad, SECRET), at(NOW))).rejects.toThrow(InvalidTokenError);
    }
  });

  it('reads scopes from scope or scp, and roles from the configured claim (a name or a dotted path)', async () => {
    const scp = signHs256({ sub: 'svc', exp: NOW + 60, scope: 'a', scp: ['funding-sources:read'] }, SECRET);
    await expect(verifier().verify(scp, at(NOW))).resolves.toMatchObject({ scope: 'a funding-sources:read' });
    const auth0 = signHs256(
      { sub: 'ops', exp: NOW + 60, roles: ['nobody'], 'https://bluum.example.com/roles': ['admin'] },
      SECRET,
    );
    await expect(
      verifier({ AUTH_ROLES_CLAIM: 'https://bluum.example.com/roles' }).verify(auth0, at(NOW)),
    ).resolves.toMatchObject({ admin: true });
    const keycloak = signHs256({ sub: 'ops', exp: NOW + 60, realm_access: { roles: ['admin'] } }, SECRET);
    await expect(
      verifier({ AUTH_ROLES_CLAIM: 'realm_access.roles' }).verify(keycloak, at(NOW)),
    ).resolves.toMatchObject({ admin: true });
    // AUTH_ADMIN_ROLE names the role that means admin; "admin" itself then means nothing.
    const namespaced = signHs256({ sub: 'ops', exp: NOW + 60, roles: ['bluum:admin'] }, SECRET);
    const plain = signHs256({ sub: 'ops', exp: NOW + 60, roles: ['admin'] }, SECRET);
    const custom = verifier({ AUTH_ADMIN_ROLE: 'bluum:admin' });
    await expect(custom.verify(namespaced, at(NOW))).resolves.toMatchObject({ admin: true });
    await expect(custom.verify(plain, at(NOW))).resolves.toMatchObject({ admin: false });
    const badScp = signHs256({ sub: 'svc', exp: NOW + 60, scp: 'funding-sources:read' }, SECRET);
    await expect(verifier().verify(badScp, at(NOW))).rejects.toThrow(InvalidTokenError);
  });

  it('checks a token it has seen again only after a minute, and never serves it past its exp', async () => {
    const sut = verifier();
    const anew = jest.spyOn(sut as unknown as { verifyAnew: () => Promise<unknown> }, 'verifyAnew');
    const longLived = signHs256({ sub: 'svc', exp: NOW + 3_600 }, SECRET);
    await sut.verify(longLived, at(NOW));
    await sut.verify(longLived, at(NOW + 59));
    expect(anew).toHaveBeenCalledTimes(1);
    await sut.verify(longLived, at(NOW + 61));
    expect(anew).toHaveBeenCalledTimes(2);
    // Cached no longer than its exp: past it (and the 5 s of skew) it is checked again, and refused.
    const shortLived = signHs256({ sub: 'svc', exp: NOW + 10 }, SECRET);
    await sut.verify(shortLived, at(NOW));
    await expect(sut.verify(shortLived, at(NOW + 16))).rejects.toThrow(InvalidTokenError);
    // A refused token is never cached: each attempt is checked in full.
    const forged = signHs256({ sub: 'svc', exp: NOW + 3_600 }, 'another-secret-0123456789abcdef');
    const before = anew.mock.calls.length;
    await expect(sut.verify(forged, at(NOW))).rejects.toThrow(InvalidTokenError);
    await expect(sut.verify(forged, at(NOW))).rejects.toThrow(InvalidTokenError);
    expect(anew.mock.calls.length - before).toBe(2);
  });

  it('refuses HS256 tokens when no shared secret is configured', async () => {
    const providerOnly = new TokenVerifier(
      auth({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://db/x',
        BLUUM_BASE_URL: 'https://bluum.example',
        BLUUM_API_KEY: 'k',
        BLUUM_API_SECRET: 's',
        AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
        AUTH_ISSUER: 'https://id.example.com/',
        AUTH_AUDIENCE: 'bluum',
      }),
    );
    const token = signHs256(
      { sub: 'a', exp: NOW + 60, iss: 'https://id.example.com/', aud: 'bluum' },
      SECRET,
    );
    await expect(providerOnly.verify(token, at(NOW))).rejects.toThrow(InvalidTokenError);
  });
});

describe('TokenVerifier in production: the shared secret is the end users, each service has its own key', () => {
  const DEPOSITS = 'deposits-key-0123456789abcdef0123456789';
  const DEPOSITS_NEXT = 'deposits-key-next-0123456789abcdef01234';
  const OPS = 'ops-key-0123456789abcdef0123456789abcdef';
  const KEYS = [
    { kid: 'deposits-2026', client: 'deposit-svc', secret: DEPOSITS, scopes: ['funding-sources:read'] },
    // The same client's next key: a rotation needs no flag day.
    { kid: 'deposits-2027', client: 'deposit-svc', secret: DEPOSITS_NEXT, scopes: ['funding-sources:read'] },
    { kid: 'ops', client: 'ops-console', secret: OPS, scopes: ['users:write'], admin: true },
  ];
  const production = (env: Record<string, string> = {}) =>
    new TokenVerifier(
      auth({
        NODE_ENV: 'production',
        DATABASE_URL: 'postgresql://db/x',
        BLUUM_BASE_URL: 'https://bluum.example',
        BLUUM_API_KEY: 'k',
        BLUUM_API_SECRET: 's',
        AUTH_JWT_SECRET: SECRET,
        AUTH_SERVICE_KEYS: JSON.stringify(KEYS),
        ...env,
      }),
    );
  const fresh = { iat: NOW - 10, exp: NOW + 600 };

  it('takes a token signed with AUTH_JWT_SECRET as its sub alone: its roles and scopes grant nothing', async () => {
    const forged = signHs256(
      { sub: 'deposit-svc', roles: ['admin'], scope: 'funding-sources:read users:write', ...fresh },
      SECRET,
    );
    await expect(production().verify(forged, at(NOW))).resolves.toEqual({
      sub: 'deposit-svc',
      exp: NOW + 600,
      admin: false,
      scope: '',
      service: false,
    });
    // A kid that names no entry is the shared secret's too.
    const unknownKid = signHs256({ sub: 'bob', roles: ['admin'], ...fresh }, SECRET, { kid: 'nope' });
    await expect(production().verify(unknownKid, at(NOW))).resolves.toMatchObject({
      sub: 'bob',
      admin: false,
    });
    // Development keeps them, so the README's walk-through can sign an admin token.
    const dev = signHs256({ sub: 'ops', roles: ['admin'], ...fresh }, SECRET);
    await expect(verifier().verify(dev, at(NOW))).resolves.toMatchObject({ admin: true });
  });

  it("acts as a service key's client, with the scopes both the token and the entry name", async () => {
    const sut = production();
    const asDeposits = (claims: object, secret = DEPOSITS, kid = 'deposits-2026') =>
      sut.verify(signHs256({ ...fresh, ...claims }, secret, { kid }), at(NOW));
    // Whatever its sub says, and however it claims admin.
    await expect(asDeposits({ sub: 'bob', roles: ['admin'] })).resolves.toEqual({
      sub: 'deposit-svc',
      exp: NOW + 600,
      admin: false,
      scope: 'funding-sources:read',
      service: true,
    });
    // No sub needed; a scope the entry does not list is dropped, one it lists is kept.
    await expect(asDeposits({ scope: 'users:write funding-sources:read' })).resolves.toMatchObject({
      scope: 'funding-sources:read',
    });
    await expect(asDeposits({ scope: 'users:write' })).resolves.toMatchObject({ scope: '' });
    // The next key of the same client.
    await expect(asDeposits({}, DEPOSITS_NEXT, 'deposits-2027')).resolves.toMatchObject({
      sub: 'deposit-svc',
    });
    // The entry's admin flag, and nothing else, makes an admin.
    await expect(sut.verify(signHs256({ ...fresh }, OPS, { kid: 'ops' }), at(NOW))).resolves.toMatchObject({
      sub: 'ops-console',
      admin: true,
      scope: 'users:write',
      service: true,
    });
  });

  it.each([
    ["another service's secret", () => signHs256({ ...fresh }, OPS, { kid: 'deposits-2026' })],
    ["the end users' secret", () => signHs256({ ...fresh }, SECRET, { kid: 'deposits-2026' })],
    ['no iat', () => signHs256({ exp: NOW + 600 }, DEPOSITS, { kid: 'deposits-2026' })],
  ])('refuses a service key token signed with %s', async (_name, token) => {
    await expect(production().verify(token(), at(NOW))).rejects.toThrow(InvalidTokenError);
  });

  it('requires iat on end-user tokens in production, not in development', async () => {
    const noIat = signHs256({ sub: 'bob', exp: NOW + 600 }, SECRET);
    await expect(production().verify(noIat, at(NOW))).rejects.toThrow(InvalidTokenError);
    await expect(verifier().verify(noIat, at(NOW))).resolves.toMatchObject({ sub: 'bob' });
  });
});

describe('TokenVerifier: token lifetimes (AUTH_MAX_TOKEN_LIFETIME_SECONDS, 24 h by default)', () => {
  const DAY = 86_400;
  it.each([
    ['a day from its iat', { iat: NOW - 100, exp: NOW - 100 + DAY }, true],
    ['a day and 5 s of skew', { iat: NOW - 100, exp: NOW - 100 + DAY + 5 }, true],
    ['a day and 6 s', { iat: NOW - 100, exp: NOW - 100 + DAY + 6 }, false],
    ['ten years', { iat: NOW, exp: NOW + 10 * 365 * DAY }, false],
    ['fifty years without iat (measured from now)', { exp: NOW + 50 * 365 * DAY }, false],
    ['a day without iat', { exp: NOW + DAY }, true],
    ['issued 5 s ahead of our clock', { iat: NOW + 5, exp: NOW + 600 }, true],
    ['issued a year in the future', { iat: NOW + 365 * DAY, exp: NOW + 365 * DAY + 600 }, false],
    ['a string iat', { iat: String(NOW), exp: NOW + 600 }, false],
  ])('valid for %s: accepted %s', async (_name, claims, accepted) => {
    const result = verifyAt(signHs256({ sub: 'a', ...claims }, SECRET), NOW);
    if (accepted) await expect(result).resolves.toMatchObject({ sub: 'a' });
    else await expect(result).rejects.toThrow(InvalidTokenError);
  });

  it('takes its limit from the configuration', async () => {
    const token = signHs256({ sub: 'a', iat: NOW, exp: NOW + 3_600 }, SECRET);
    await expect(verifier({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '600' }).verify(token, at(NOW))).rejects.toThrow(
      InvalidTokenError,
    );
    await expect(
      verifier({ AUTH_MAX_TOKEN_LIFETIME_SECONDS: '3600' }).verify(token, at(NOW)),
    ).resolves.toMatchObject({ sub: 'a' });
  });
});

describe("TokenVerifier with the identity provider's keys (JWKS)", () => {
  const ISSUER = 'https://id.example.test/';
  const AUDIENCE = 'bluum-bank-linking';
  // The verifier's background refresh period (JWKS_MAX_AGE_MS).
  const REFRESH_MS = 10 * 60_000;

  async function newKey(kid: string) {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    let tokens = 0;
    // Each token is new (jti), so none is answered from the verifier's cache of tokens already seen.
    const sign = () =>
      new SignJWT({ sub: 'user_1', jti: `${kid}-${++tokens}` })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(privateKey);
    return { jwk, sign };
  }

  afterEach(() => {
    jest.useRealTimers();
  });

  /** A local identity provider serving `keys`, or failing with 503 while `keys` is null. */
  async function jwksServer(initial: JWK[] | null) {
    const state = { keys: initial, fetches: 0 };
    const server = createServer((_req, res) => {
      state.fetches++;
      if (state.keys === null) res.writeHead(503).end();
      else
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    const close = async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    };
    return { state, url, close };
  }

  it('refuses a provider token shaped as an ID token: its typ, its claims, or an audience naming its client', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
    const provider = await jwksServer([jwk]);
    const sut = new TokenVerifier(
      auth({ NODE_ENV: 'test', AUTH_JWKS_URL: provider.url, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE }),
    );
    const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
      new SignJWT({ sub: 'user_1', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k', ...header })
        .setIssuer(ISSUER)
        .setAudience((claims.aud as string | string[] | undefined) ?? AUDIENCE)
        .setExpirationTime('5m')
        .sign(privateKey);
    try {
      for (const header of [{}, { typ: 'JWT' }, { typ: 'at+jwt' }, { typ: 'application/at+jwt' }]) {
        await expect(sut.verify(await sign({ azp: 'web-frontend' }, header))).resolves.toMatchObject({
          sub: 'user_1',
        });
      }
      for (const [claims, header] of [
        [{}, { typ: 'id_token' }],
        [{ typ: 'ID' }, {}],
        [{ nonce: 'n-1' }, {}],
        [{ at_hash: 'abc' }, {}],
        [{ azp: 'web-frontend', aud: [AUDIENCE, 'web-frontend'] }, {}],
      ] as const) {
        await expect(sut.verify(await sign(claims, header))).rejects.toThrow(InvalidTokenError);
      }
    } finally {
      sut.onModuleDestroy();
      await provider.close();
    }
  });

  it("counts a provider token's scopes only when its azp or client_id is a service client", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
    const provider = await jwksServer([jwk]);
    const sut = new TokenVerifier(
      auth({
        NODE_ENV: 'test',
        AUTH_JWKS_URL: provider.url,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
        AUTH_SERVICE_CLIENTS: 'deposits-svc,withdrawals-svc',
      }),
    );
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: 'user_1', scope: 'openid funding-sources:read', roles: ['admin'], ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: 'k' })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setExpirationTime('5m')
        .sign(privateKey);
    try {
      // An end user's token (its client is the frontend, or none): no scope, no error; roles still count.
      for (const claims of [{ azp: 'web-frontend' }, { client_id: 'web-frontend' }, {}]) {
        await expect(sut.verify(await sign(claims))).resolves.toMatchObject({
          sub: 'user_1',
          scope: '',
          admin: true,
        });
      }
      // A non-string azp is no client at all.
      await expect(sut.verify(await sign({ azp: ['deposits-svc'] }))).resolves.toMatchObject({ scope: '' });
      for (const claims of [{ azp: 'deposits-svc' }, { client_id: 'withdrawals-svc' }]) {
        await expect(sut.verify(await sign(claims))).resolves.toMatchObject({
          scope: 'openid funding-sources:read',
        });
      }
    } finally {
      sut.onModuleDestroy();
      await provider.close();
    }
  });

  describe("refuses provider tokens that are not the provider's own, or not for us", () => {
    let provider: Awaited<ReturnType<typeof jwksServer>>;
    let sut: TokenVerifier;
    let rsa: { privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK };
    const signed = (claims: object, header: object = { alg: 'RS256', kid: 'rsa-1' }, key = rsa.privateKey) =>
      new SignJWT({ sub: 'u', ...claims }).setProtectedHeader(header as never).sign(key);
    const fresh = () => Math.floor(Date.now() / 1000) + 300;
    const valid = () => ({ iss: ISSUER, aud: AUDIENCE, exp: fresh() });

    beforeAll(async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      rsa = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'rsa-1', alg: 'RS256' } };
      provider = await jwksServer([rsa.jwk]);
      // The shared secret too, as beside a provider: HS256 is then accepted, but only under that secret.
      sut = new TokenVerifier(
        loadConfig({
          NODE_ENV: 'test',
          AUTH_JWT_SECRET: SECRET,
          AUTH_JWKS_URL: provider.url,
          AUTH_ISSUER: ISSUER,
          AUTH_AUDIENCE: AUDIENCE,
        }),
      );
    });
    afterAll(async () => {
      sut.onModuleDestroy();
      await provider.close();
    });

    it('takes the valid token these rows are made from', async () => {
      await expect(sut.verify(await signed(valid()))).resolves.toMatchObject({ sub: 'u' });
    });

    it.each<[string, () => Promise<string> | string]>([
      ['a wrong issuer', () => signed({ ...valid(), iss: 'https://evil.example/' })],
      ['a wrong audience', () => signed({ ...valid(), aud: 'some-other-service' })],
      ['an expired token', () => signed({ ...valid(), exp: fresh() - 900 })],
      ['no exp', () => signed({ iss: ISSUER, aud: AUDIENCE })],
      ['alg none', () => `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ sub: 'u', ...valid() })}.`],
      [
        'HS256 signed with the public key as the secret',
        () => sign({ alg: 'HS256', kid: 'rsa-1' }, { sub: 'u', ...valid() }, JSON.stringify(rsa.jwk)),
      ],
      [
        'an unknown kid',
        async () => {
          const { privateKey } = await generateKeyPair('RS256');
          return signed(valid(), { alg: 'RS256', kid: 'stranger' }, privateKey);
        },
      ],
    ])('%s', async (_name, make) => {
      await expect(sut.verify(await make())).rejects.toBeInstanceOf(InvalidTokenError);
    });
  });

  it('fetches the JWKS again for an unknown kid (a rotation) at most every 5 s, and then drops the removed key', async () => {
    const [old, rotated] = await Promise.all([newKey('kid-old'), newKey('kid-new')]);
    const provider = await jwksServer([old.jwk]);
    // Only the clock is fake (jose's cooldown reads Date.now()); HTTP runs on real time.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
      ],
    });
    const sut = new TokenVerifier(
      auth({
        NODE_ENV: 'test',
        AUTH_JWKS_URL: provider.url,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
      }),
    );
    try {
      await expect(sut.verify(await old.sign())).resolves.toMatchObject({ sub: 'user_1' });
      expect(provider.state.fetches).toBe(1);
      // The provider rotates: the new kid is unknown, and within 5 s of the last fetch nothing is fetched.
      provider.state.keys = [rotated.jwk];
      await expect(sut.verify(await rotated.sign())).rejects.toThrow(InvalidTokenError);
      expect(provider.state.fetches).toBe(1);
      jest.setSystemTime(Date.now() + 5_001);
      await expect(sut.verify(await rotated.sign())).resolves.toMatchObject({ sub: 'user_1' });
      expect(provider.state.fetches).toBe(2);
      // That fetch no longer held the old key: a token signed with it (never seen before) is refused.
      await expect(sut.verify(await old.sign())).rejects.toThrow(InvalidTokenError);
    } finally {
      sut.onModuleDestroy();
      await provider.close();
    }
  });

  it('tries a failed first JWKS fetch again at most once a second', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
    const provider = await jwksServer(null);
    // Only the clock is fake: HTTP and jose's own timers run on real time.
    jest.useFakeTimers({
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
        'setInterval',
        'clearInterval',
      ],
    });
    const sut = new TokenVerifier(
      auth({
        NODE_ENV: 'test',
        AUTH_JWKS_URL: provider.url,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
      }),
    );
    const token = await new SignJWT({ sub: 'user_1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
    const unavailable = { code: 'AUTH_PROVIDER_UNAVAILABLE' };
    try {
      for (let i = 0; i < 5; i++) await expect(sut.verify(token)).rejects.toMatchObject(unavailable);
      expect(provider.state.fetches).toBe(1);
      jest.setSystemTime(Date.now() + 999);
      await expect(sut.verify(token)).rejects.toMatchObject(unavailable);
      expect(provider.state.fetches).toBe(1);
      // A second later the provider is asked again, and once it answers the token verifies.
      provider.state.keys = [jwk];
      jest.setSystemTime(Date.now() + 2);
      await expect(sut.verify(token)).resolves.toMatchObject({ sub: 'user_1' });
      expect(provider.state.fetches).toBe(2);
    } finally {
      sut.onModuleDestroy();
      await provider.close();
    }
  });

  it('stops verifying a key the provider removed once the background refresh has run', async () => {
    const [a, b] = await Promise.all([newKey('kid-a'), newKey('kid-b')]);
    let served: JWK[] = [a.jwk, b.jwk];
    let fetches = 0;
    const provider = createServer((_req, res) => {
      fetches++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: served }));
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    // Only the refresh timer is fake: HTTP, jose's fetch timeout and its 5 s cooldown run on real time.
    jest.useFakeTimers({
      doNotFake: [
        'Date',
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'setImmediate',
        'clearImmediate',
        'setTimeout',
        'clearTimeout',
      ],
    });
    const sut = new TokenVerifier(
      auth({
        NODE_ENV: 'test',
        AUTH_JWKS_URL: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/jwks.json`,
        AUTH_ISSUER: ISSUER,
        AUTH_AUDIENCE: AUDIENCE,
      }),
    );
    try {
      await expect(sut.verify(await a.sign())).resolves.toMatchObject({ sub: 'user_1' });
      expect(fetches).toBe(1);

      // The provider drops kid A: the keys already fetched still hold it until the refresh.
      served = [b.jwk];
      await expect(sut.verify(await a.sign())).resolves.toMatchObject({ sub: 'user_1' });
      expect(fetches).toBe(1);

      jest.advanceTimersByTime(REFRESH_MS);
      const deadline = Date.now() + 2_000;
      let refused: unknown;
      while (refused === undefined && Date.now() < deadline) {
        refused = await sut.verify(await a.sign()).then(
          () => undefined,
          (err: unknown) => err,
        );
        if (refused === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(refused).toBeInstanceOf(InvalidTokenError);
      // One fetch by the refresh, none for the refused kid (within the 5 s cooldown), and B still verifies.
      expect(fetches).toBe(2);
      await expect(sut.verify(await b.sign())).resolves.toMatchObject({ sub: 'user_1' });
    } finally {
      sut.onModuleDestroy();
      provider.closeAllConnections();
      await new Promise((resolve) => provider.close(resolve));
    }
  });
});
