// Identity-provider tokens (RS256, ES256) verified against a JWKS served over real HTTP by a stand-in
// provider: issuer, audience, expiry, algorithm pinning, key rotation, and a provider briefly down.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { startTestApp, type TestApp, uniqueUserId } from './support/test-app';
import { rawToken, tokenFor } from './support/tokens';
import { waitUntil } from './support/wait-until';

const ISSUER = 'https://id.example.test/';
const AUDIENCE = 'bluum-bank-linking';

interface SigningKey {
  kid: string;
  alg: 'RS256' | 'ES256';
  privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  jwk: JWK;
}

async function newKey(kid: string, alg: 'RS256' | 'ES256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A stand-in identity provider: serves its JWKS, counts fetches, can be taken down. */
class Provider {
  keys: SigningKey[] = [];
  fetches = 0;
  down = false;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.fetches++;
      if (this.down) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function sign(key: SigningKey, claims: Record<string, unknown>, options: { expiresIn?: string } = {}) {
  return new SignJWT({ ...claims })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer((claims.iss as string | undefined) ?? ISSUER)
    .setAudience((claims.aud as string | undefined) ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(key.privateKey);
}

describe('identity-provider tokens (JWKS)', () => {
  const provider = new Provider();
  let app: TestApp;
  let rsa: SigningKey;
  let ec: SigningKey;
  let userId: string;

  beforeAll(async () => {
    rsa = await newKey('rsa-1', 'RS256');
    ec = await newKey('ec-1', 'ES256');
    provider.keys = [rsa, ec];
    await provider.start();
    app = await startTestApp({
      AUTH_JWKS_URL: provider.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      AUTH_ROLES_CLAIM: 'https://bluum.example.com/roles',
      AUTH_SERVICE_CLIENTS: 'deposits-svc',
    });
    userId = uniqueUserId();
    const admin = await sign(rsa, { sub: 'ops', 'https://bluum.example.com/roles': ['admin'] });
    const put = await app.request('PUT', `/v1/users/${userId}`, {
      token: admin,
      body: { bluumAccountId: 'acct_idp' },
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => {
    await app.close();
    await provider.close();
  });

  const read = (token: string, user = userId) =>
    app.request('GET', `/v1/users/${user}/funding-sources`, { token });

  it('accepts RS256 and ES256 tokens from the provider, sub as the user id', async () => {
    expect((await read(await sign(rsa, { sub: userId }))).status).toBe(200);
    expect((await read(await sign(ec, { sub: userId }))).status).toBe(200);
    // Someone else's token is valid, but not for this user's data.
    expect((await read(await sign(rsa, { sub: 'someone_else' }))).status).toBe(403);
  });

  it('reads roles from AUTH_ROLES_CLAIM and scopes from scp', async () => {
    const admin = await sign(rsa, { sub: 'ops', 'https://bluum.example.com/roles': ['admin'] });
    expect((await app.request('GET', '/v1/admin/funding-sources', { token: admin })).status).toBe(200);
    // A plain `roles` claim is not the configured one.
    const notAdmin = await sign(rsa, { sub: 'ops', roles: ['admin'] });
    expect((await app.request('GET', '/v1/admin/funding-sources', { token: notAdmin })).status).toBe(403);
    const reader = await sign(rsa, {
      sub: 'deposit-service',
      azp: 'deposits-svc',
      scp: ['funding-sources:read'],
    });
    expect((await read(reader)).status).toBe(200);
  });

  // Every token the provider's keys must refuse, and whose scopes count, is a row of
  // src/auth/token-verifier.spec.ts; over HTTP, the public key used as an HS256 secret shows the 401.
  it('refuses HS256 signed with the public key as the secret with 401', async () => {
    const forged = rawToken(
      { alg: 'HS256', kid: 'rsa-1' },
      { sub: 'u', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 },
      JSON.stringify(rsa.jwk),
    );
    const res = await read(forged, 'u');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });

  it('keeps accepting known keys while the provider is down', async () => {
    const known = await sign(ec, { sub: userId });
    expect((await read(known)).status).toBe(200);
    provider.down = true;
    try {
      expect((await read(await sign(ec, { sub: userId }))).status).toBe(200);
      // An unknown kid cannot be checked while the provider is down: refused, not let in.
      expect((await read(await sign(await newKey('rsa-3', 'RS256'), { sub: userId }))).status).toBe(401);
    } finally {
      provider.down = false;
    }
  });

  it('answers 503 AUTH_PROVIDER_UNAVAILABLE, not 401, while the provider has never been reachable', async () => {
    const cold = new Provider();
    cold.keys = [rsa];
    cold.down = true;
    await cold.start();
    const coldApp = await startTestApp({
      AUTH_JWKS_URL: cold.url,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
    });
    try {
      // A user no database holds: once the token is checked, the route answers 404 on either database.
      const stranger = uniqueUserId();
      const token = await sign(rsa, { sub: stranger });
      const path = `/v1/users/${stranger}/funding-sources`;
      const refused = await coldApp.request('GET', path, { token });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('AUTH_PROVIDER_UNAVAILABLE');
      expect(refused.headers.get('retry-after')).toBe('5');
      // A failed fetch is tried again at most once a second, however many requests arrive meanwhile.
      const fetchesBefore = cold.fetches;
      for (let i = 0; i < 10; i++) {
        expect((await coldApp.request('GET', path, { token })).body.code).toBe('AUTH_PROVIDER_UNAVAILABLE');
      }
      expect(cold.fetches - fetchesBefore).toBeLessThanOrEqual(1);
      cold.down = false;
      await waitUntil(
        async () => (await coldApp.request('GET', path, { token })).body.code === 'USER_NOT_FOUND',
      );
    } finally {
      await coldApp.close();
      await cold.close();
    }
  });

  it('keeps HS256 service tokens working beside the provider, with the same iss and aud checks', async () => {
    // AUTH_JWT_SECRET (the e2e secret) is set too: its tokens need the provider's iss and aud.
    expect((await read(tokenFor(userId))).status).toBe(401);
    const service = rawToken(
      { alg: 'HS256', typ: 'JWT' },
      { sub: userId, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) + 300 },
    );
    expect((await read(service)).status).toBe(200);
  });
});
