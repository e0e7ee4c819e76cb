import { ConfigError, configSlice, DEV_AUTH_JWT_SECRET, loadConfig } from './app-config';
import { SLICE_NAMES } from './config-schema';

const PRODUCTION = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgresql://app:pw@db.internal:5432/bluum',
  BLUUM_BASE_URL: 'https://api.bluum.example',
  BLUUM_API_KEY: 'live_key_123',
  BLUUM_API_SECRET: 'live_secret_456',
  AUTH_JWT_SECRET: 'a-production-secret-of-at-least-32-chars',
};

describe('loadConfig', () => {
  it('runs on development defaults with nothing set, and says which', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 3000,
      databaseUrl: null,
      bluumBaseUrl: null,
      bluumTimeoutMs: 10_000,
      authJwtSecret: DEV_AUTH_JWT_SECRET,
      logLevel: 'info',
      writeRateLimitPerMinute: 30,
      retentionSweepSeconds: 3600,
      reconcileIntervalSeconds: 3600,
      bluumMaxRequestsPerSecond: 20,
      sandboxEnabled: true,
      // The Bluum work budget: two calls and the transactions around them.
      bluumWorkBudgetMs: 25_000,
      bluumMaxConcurrency: 50,
      databasePoolSize: 10,
      databaseReadPoolSize: 5,
      databaseConnectTimeoutMs: 2_000,
      databaseStatementTimeoutMs: 3_000,
      httpRequestTimeoutMs: 15_000,
    });
    expect([...config.developmentDefaults].sort()).toEqual(
      ['AUTH_JWT_SECRET', 'BLUUM_API_KEY', 'BLUUM_API_SECRET', 'BLUUM_BASE_URL', 'DATABASE_URL'].sort(),
    );
  });

  it('takes every variable in production and turns the sandbox off', () => {
    const config = loadConfig({
      ...PRODUCTION,
      PORT: '8080',
      BLUUM_TIMEOUT_MS: '2500',
      LOG_LEVEL: 'WARN',
      RECONCILE_INTERVAL_SECONDS: '0',
      BLUUM_MAX_REQUESTS_PER_SECOND: '10',
    });
    expect(config).toMatchObject({
      nodeEnv: 'production',
      port: 8080,
      reconcileIntervalSeconds: 0,
      bluumMaxRequestsPerSecond: 10,
      databaseUrl: PRODUCTION.DATABASE_URL,
      bluumBaseUrl: PRODUCTION.BLUUM_BASE_URL,
      bluumApiKey: 'live_key_123',
      bluumApiSecret: 'live_secret_456',
      bluumTimeoutMs: 2500,
      logLevel: 'warn',
      sandboxEnabled: false,
      developmentDefaults: [],
    });
  });

  it.each(['DATABASE_URL', 'BLUUM_BASE_URL', 'BLUUM_API_KEY', 'BLUUM_API_SECRET'])(
    'stops production without %s, naming it',
    (name) => {
      expect(() => loadConfig({ ...PRODUCTION, [name]: undefined })).toThrow(
        new ConfigError(`${name} is required when NODE_ENV=production`),
      );
      expect(() => loadConfig({ ...PRODUCTION, [name]: '  ' })).toThrow(ConfigError);
    },
  );

  it('stops production with neither the identity provider nor a shared secret, naming both', () => {
    expect(() => loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: undefined })).toThrow(
      new ConfigError(
        'AUTH_JWKS_URL (with AUTH_ISSUER, AUTH_AUDIENCE), AUTH_SERVICE_KEYS or AUTH_JWT_SECRET is required when NODE_ENV=production',
      ),
    );
  });

  it("takes the identity provider's settings alone in production, and demands issuer and audience with them", () => {
    const provider = {
      AUTH_JWKS_URL: 'https://id.example.com/.well-known/jwks.json',
      AUTH_ISSUER: 'https://id.example.com/',
      AUTH_AUDIENCE: 'bluum-bank-linking',
    };
    expect(loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: undefined, ...provider })).toMatchObject({
      authJwtSecret: null,
      authJwksUrl: provider.AUTH_JWKS_URL,
      authIssuer: provider.AUTH_ISSUER,
      authAudience: provider.AUTH_AUDIENCE,
      authRolesClaim: 'roles',
    });
    expect(() => loadConfig({ ...PRODUCTION, ...provider, AUTH_ISSUER: undefined })).toThrow(
      new ConfigError('AUTH_ISSUER is required with AUTH_JWKS_URL'),
    );
    expect(() => loadConfig({ ...PRODUCTION, ...provider, AUTH_AUDIENCE: ' ' })).toThrow(
      new ConfigError('AUTH_AUDIENCE is required with AUTH_JWKS_URL'),
    );
    expect(() =>
      loadConfig({ ...PRODUCTION, ...provider, AUTH_JWKS_URL: 'http://id.example.com/jwks' }),
    ).toThrow(ConfigError);
  });

  it('fails closed: some deployment settings without NODE_ENV are held to production, naming what is missing', () => {
    expect(() => loadConfig({ DATABASE_URL: PRODUCTION.DATABASE_URL })).toThrow(
      new ConfigError(
        'BLUUM_BASE_URL is required (NODE_ENV is not set and DATABASE_URL is: set NODE_ENV=development for development defaults)',
      ),
    );
    const noAuth = { ...PRODUCTION, NODE_ENV: undefined, AUTH_JWT_SECRET: undefined };
    expect(() => loadConfig(noAuth)).toThrow(/AUTH_JWT_SECRET is required \(NODE_ENV is not set/);
    // Everything set but NODE_ENV: production's rules, and production it is.
    expect(loadConfig({ ...PRODUCTION, NODE_ENV: undefined })).toMatchObject({
      nodeEnv: 'production',
      sandboxEnabled: false,
      host: '0.0.0.0',
    });
    // Nothing configured but the port: a fresh checkout, development defaults.
    expect(loadConfig({ PORT: '4000' })).toMatchObject({ nodeEnv: 'development', host: '127.0.0.1' });
  });

  it('refuses a development boot on a non-loopback HOST while the public development secret signs tokens', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/^HOST=0\.0\.0\.0 /);
    expect(() => loadConfig({ NODE_ENV: 'development', HOST: '10.1.2.3' })).toThrow(/^HOST=10\.1\.2\.3 /);
    expect(() => loadConfig({ HOST: '::' })).toThrow(/^HOST=:: /);
    for (const host of ['127.0.0.1', '127.0.1.1', '::1', 'localhost']) {
      expect(loadConfig({ HOST: host })).toMatchObject({ host, authJwtSecret: DEV_AUTH_JWT_SECRET });
    }
    // With a secret of its own and a Bluum of its own, development may listen anywhere, without the
    // sandbox: on a reachable address it would sign tokens for new user ids for anyone.
    const devBox = { NODE_ENV: 'development', HOST: '0.0.0.0', AUTH_JWT_SECRET: 'dev-box-secret' };
    expect(loadConfig({ ...devBox, BLUUM_BASE_URL: 'https://bluum.staging.example' })).toMatchObject({
      host: '0.0.0.0',
      sandboxEnabled: false,
    });
    expect(() => loadConfig(devBox)).toThrow(/^HOST=0\.0\.0\.0 .*built-in Bluum sandbox.*BLUUM_BASE_URL/);
    expect(loadConfig({ HOST: '127.0.0.1' })).toMatchObject({ sandboxEnabled: true });
  });

  it('closes /metrics and the docs in production unless METRICS_PUBLIC / DOCS_PUBLIC say otherwise', () => {
    expect(loadConfig({})).toMatchObject({ metricsOpen: true, docsServed: true });
    expect(loadConfig(PRODUCTION)).toMatchObject({ metricsOpen: false, docsServed: false });
    expect(loadConfig({ ...PRODUCTION, METRICS_PUBLIC: 'true', DOCS_PUBLIC: 'true' })).toMatchObject({
      metricsOpen: true,
      docsServed: true,
    });
    // A token always guards /metrics; DOCS_ENABLED=false always turns the docs off.
    expect(
      loadConfig({ ...PRODUCTION, METRICS_PUBLIC: 'true', METRICS_TOKEN: 'scrape-token-0123456789' }),
    ).toMatchObject({ metricsOpen: false });
    expect(loadConfig({ DOCS_ENABLED: 'false', DOCS_PUBLIC: 'true' })).toMatchObject({ docsServed: false });
  });

  it('takes scopes only from the listed service clients, names the admin role, and guards /metrics when asked', () => {
    expect(loadConfig({})).toMatchObject({
      authServiceClients: [],
      authAdminRole: 'admin',
      metricsToken: null,
      bluumMaxConcurrencyPerUser: 2,
    });
    expect(
      loadConfig({
        AUTH_SERVICE_CLIENTS: ' deposits-svc , withdrawals-svc,',
        AUTH_ADMIN_ROLE: 'https://bluum.example.com/admin',
        METRICS_TOKEN: 'scrape-token-0123456789',
        BLUUM_MAX_CONCURRENCY_PER_USER: '5',
      }),
    ).toMatchObject({
      authServiceClients: ['deposits-svc', 'withdrawals-svc'],
      authAdminRole: 'https://bluum.example.com/admin',
      metricsToken: 'scrape-token-0123456789',
      bluumMaxConcurrencyPerUser: 5,
    });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(
      new ConfigError('METRICS_TOKEN must be at least 16 characters'),
    );
    expect(() => loadConfig({ BLUUM_MAX_CONCURRENCY_PER_USER: '0' })).toThrow(
      /BLUUM_MAX_CONCURRENCY_PER_USER/,
    );
  });

  it('lists allowed browser origins, none in production unless set, any localhost in development unless set', () => {
    expect(loadConfig({})).toMatchObject({ corsAllowLocalhost: true, docsEnabled: true });
    expect(loadConfig(PRODUCTION)).toMatchObject({ corsAllowedOrigins: [], corsAllowLocalhost: false });
    expect(
      loadConfig({ ...PRODUCTION, CORS_ALLOWED_ORIGINS: 'https://app.example.com, https://ops.example.com' }),
    ).toMatchObject({ corsAllowedOrigins: ['https://app.example.com', 'https://ops.example.com'] });
    // Plain http is for development: in production such an origin is one any network on the way can be.
    for (const name of ['CORS_ALLOWED_ORIGINS', 'LINK_COMPLETION_REDIRECT_ORIGINS']) {
      expect(() =>
        loadConfig({ ...PRODUCTION, [name]: 'https://app.example.com,http://app.example.com' }),
      ).toThrow(
        new ConfigError(`${name} entries must be https: origins in production, got "http://app.example.com"`),
      );
      expect(loadConfig({ NODE_ENV: 'development', [name]: 'http://app.example.com' })).toBeInstanceOf(
        Object,
      );
    }
    expect(
      loadConfig({ NODE_ENV: 'development', CORS_ALLOWED_ORIGINS: 'https://app.example.com' }),
    ).toMatchObject({
      corsAllowLocalhost: false,
    });
    expect(loadConfig({ ...PRODUCTION, DOCS_ENABLED: 'false', HOST: '10.0.0.5' })).toMatchObject({
      docsEnabled: false,
      host: '10.0.0.5',
    });
  });

  it.each([
    ['the development JWT secret', { AUTH_JWT_SECRET: DEV_AUTH_JWT_SECRET }, 'AUTH_JWT_SECRET'],
    ['a short JWT secret', { AUTH_JWT_SECRET: 'short-secret' }, 'AUTH_JWT_SECRET'],
    ['a plain-http Bluum', { BLUUM_BASE_URL: 'http://api.bluum.example' }, 'BLUUM_BASE_URL'],
  ])('refuses %s in production', (_name, override, variable) => {
    expect(() => loadConfig({ ...PRODUCTION, ...override })).toThrow(
      expect.objectContaining({ message: expect.stringContaining(variable) }),
    );
  });

  it('reads the scheme of the Bluum URL as a URL does, in any letter case', () => {
    expect(() => loadConfig({ ...PRODUCTION, BLUUM_BASE_URL: 'HTTPS://api.bluum.example' })).not.toThrow();
    expect(() => loadConfig({ ...PRODUCTION, BLUUM_BASE_URL: 'HTTP://api.bluum.example' })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('BLUUM_BASE_URL must use https:') }),
    );
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['BLUUM_TIMEOUT_MS', '0'],
    ['BLUUM_TIMEOUT_MS', '1.5'],
    ['WRITE_RATE_LIMIT_PER_MINUTE', '0'],
    ['WRITE_RATE_LIMIT_PER_MINUTE', 'lots'],
    ['CORS_ALLOWED_ORIGINS', '*'],
    ['CORS_ALLOWED_ORIGINS', 'https://app.example.com/app'],
    ['DOCS_ENABLED', 'maybe'],
    ['BLUUM_MAX_CONCURRENCY', '0'],
    ['DATABASE_POOL_SIZE', '0'],
    ['DATABASE_READ_POOL_SIZE', 'many'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '99'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '60001'],
    ['HTTP_REQUEST_TIMEOUT_MS', '999'],
    ['RETENTION_SWEEP_SECONDS', '-1'],
    ['RETENTION_SWEEP_SECONDS', 'hourly'],
    ['RECONCILE_INTERVAL_SECONDS', '-1'],
    ['RECONCILE_INTERVAL_SECONDS', '604801'],
    ['RECONCILE_INTERVAL_SECONDS', 'hourly'],
    ['BLUUM_MAX_REQUESTS_PER_SECOND', '0'],
    ['BLUUM_MAX_REQUESTS_PER_SECOND', '2.5'],
    ['LOG_LEVEL', 'verbose'],
    ['NODE_ENV', 'staging'],
    ['DATABASE_URL', 'mysql://db/bluum'],
    ['DATABASE_URL', 'not a url'],
    ['BLUUM_BASE_URL', 'ftp://bluum.example'],
    ['LINK_COMPLETION_REDIRECT_ORIGINS', 'https://app.example.com/path'],
    ['LINK_COMPLETION_REDIRECT_ORIGINS', 'app.example.com'],
    ['LINK_COMPLETION_REDIRECT_ORIGINS', 'javascript:alert(1)'],
  ])('stops on a malformed %s (%s), naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(
      expect.objectContaining({ name: 'ConfigError', message: expect.stringContaining(name) }),
    );
  });

  it('allows hosted-link redirects to its own origins in development, to none in production unless set', () => {
    expect(loadConfig({ PORT: '4000' }).linkCompletionRedirectOrigins).toEqual([
      'http://localhost:4000',
      'http://127.0.0.1:4000',
    ]);
    expect(loadConfig(PRODUCTION).linkCompletionRedirectOrigins).toEqual([]);
    expect(
      loadConfig({
        ...PRODUCTION,
        LINK_COMPLETION_REDIRECT_ORIGINS: 'https://app.example.com, https://m.example.com:8443',
      }).linkCompletionRedirectOrigins,
    ).toEqual(['https://app.example.com', 'https://m.example.com:8443']);
  });

  it('takes a JWT secret of exactly 32 characters in production, not 31', () => {
    expect(loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: 'x'.repeat(32) }).authJwtSecret).toBe('x'.repeat(32));
    expect(() => loadConfig({ ...PRODUCTION, AUTH_JWT_SECRET: 'x'.repeat(31) })).toThrow(ConfigError);
  });

  it.each([
    ['a database URL of the wrong protocol', { DATABASE_URL: 'mysql://app:hunter2-secret@db/bluum' }],
    ['a database URL that does not parse', { DATABASE_URL: 'postgres://app:hunter2-secret@db:port/x' }],
    ['a Bluum URL of the wrong protocol', { BLUUM_BASE_URL: 'ftp://key:hunter2-secret@bluum.example' }],
    [
      'a plain-http Bluum URL in production',
      { ...PRODUCTION, BLUUM_BASE_URL: 'http://key:hunter2-secret@bluum.example' },
    ],
    ['a short JWT secret in production', { ...PRODUCTION, AUTH_JWT_SECRET: 'hunter2-secret' }],
  ])('never puts a secret in its error message: %s', (_name, env) => {
    let error: unknown;
    try {
      loadConfig(env);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('hunter2');
  });

  describe('AUTH_SERVICE_KEYS', () => {
    const KEY = 'svc-secret-0123456789abcdef0123456789abc';
    const entry = { kid: 'deposits-1', client: 'deposit-svc', secret: KEY, scopes: ['funding-sources:read'] };
    const withKeys = (keys: unknown, env: Record<string, string> = {}) =>
      loadConfig({
        ...PRODUCTION,
        AUTH_SERVICE_KEYS: typeof keys === 'string' ? keys : JSON.stringify(keys),
        ...env,
      });

    it('takes each service key, admin false unless it says so, and no key at all by default', () => {
      expect(loadConfig(PRODUCTION).authServiceKeys).toEqual([]);
      expect(
        withKeys([entry, { ...entry, kid: 'ops', client: 'ops', secret: `${KEY}x`, scopes: [], admin: true }])
          .authServiceKeys,
      ).toEqual([
        { ...entry, admin: false },
        { kid: 'ops', client: 'ops', secret: `${KEY}x`, scopes: [], admin: true },
      ]);
    });

    it('lets a production deployment run on service keys alone', () => {
      const { AUTH_JWT_SECRET: _unused, ...withoutSecret } = PRODUCTION;
      void _unused;
      expect(
        loadConfig({ ...withoutSecret, AUTH_SERVICE_KEYS: JSON.stringify([entry]) }).authJwtSecret,
      ).toBeNull();
    });

    it.each([
      ['not JSON', '[{kid:', 'must be a JSON array'],
      ['not an array', { kid: 'a' }, 'must be a JSON array'],
      ['an entry that is no object', ['x'], 'entry 1 must be an object'],
      ['an unknown field', [{ ...entry, role: 'admin' }], 'unknown fields: role'],
      ['no kid', [{ ...entry, kid: undefined }], 'kid must be'],
      ['a client that is no principal id', [{ ...entry, client: 'a b' }], 'client must be'],
      ['a short secret', [{ ...entry, secret: 'short' }], 'secret must be at least 32 characters'],
      [
        'the development secret',
        [{ ...entry, secret: DEV_AUTH_JWT_SECRET }],
        'not be the development secret',
      ],
      ['an unknown scope', [{ ...entry, scopes: ['funding-sources:write'] }], 'scopes must be an array of'],
      ['an admin flag that is no boolean', [{ ...entry, admin: 'yes' }], 'admin must be true or false'],
      ['one kid twice', [entry, { ...entry, secret: `${KEY}x` }], 'names kid deposits-1 twice'],
      ['one secret twice', [entry, { ...entry, kid: 'deposits-2' }], 'a secret of its own'],
      [
        "the end users' secret",
        [{ ...entry, secret: PRODUCTION.AUTH_JWT_SECRET }],
        'must not use AUTH_JWT_SECRET',
      ],
    ])('stops the boot on %s, naming the variable and never a secret', (_name, keys, message) => {
      let error: unknown;
      try {
        withKeys(keys);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain('AUTH_SERVICE_KEYS');
      expect((error as Error).message).toContain(message);
      for (const secret of [KEY, `${KEY}x`, PRODUCTION.AUTH_JWT_SECRET, DEV_AUTH_JWT_SECRET, 'short']) {
        expect((error as Error).message).not.toContain(secret);
      }
    });
  });

  describe('webhooks', () => {
    // 32 bytes, as the Standard Webhooks specification's examples have it.
    const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

    it('sends no events unless WEBHOOK_URLS is set, and retries after 5 s first', () => {
      expect(loadConfig({})).toMatchObject({
        webhookUrls: [],
        webhookSecrets: [],
        webhookRetryBaseMs: 5_000,
        webhookTimeoutMs: 10_000,
      });
    });

    const OTHER_SECRET = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

    it('takes one URL with one secret, as before receivers had secrets of their own', () => {
      const config = loadConfig({
        ...PRODUCTION,
        WEBHOOK_URLS: 'https://deposits.internal/hooks',
        WEBHOOK_SECRET: SECRET,
      });
      expect(config.webhookUrls).toEqual(['https://deposits.internal/hooks']);
      expect(config.webhookSecrets).toEqual([SECRET]);
    });

    it('takes comma-separated URLs with one secret each, in the same order', () => {
      const config = loadConfig({
        ...PRODUCTION,
        WEBHOOK_URLS: 'https://deposits.internal/hooks , https://ledger.internal/bluum?src=links',
        WEBHOOK_SECRET: ` ${OTHER_SECRET} ,${SECRET}`,
      });
      expect(config.webhookUrls).toEqual([
        'https://deposits.internal/hooks',
        'https://ledger.internal/bluum?src=links',
      ]);
      expect(config.webhookSecrets).toEqual([OTHER_SECRET, SECRET]);
    });

    it.each([
      [
        'two URLs and one secret',
        'https://a.example/h,https://b.example/h',
        SECRET,
        '1 secret(s)',
        '2 URL(s)',
      ],
      [
        'one URL and two secrets',
        'https://a.example/h',
        `${SECRET},${OTHER_SECRET}`,
        '2 secret(s)',
        '1 URL(s)',
      ],
      ['a secret and no URL', undefined, SECRET, '1 secret(s)', '0 URL(s)'],
    ])('stops on %s, naming both variables and no secret', (_name, urls, secrets, secretCount, urlCount) => {
      let error: unknown;
      try {
        loadConfig({ ...PRODUCTION, WEBHOOK_URLS: urls, WEBHOOK_SECRET: secrets });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const { message } = error as ConfigError;
      expect(message).toContain(`WEBHOOK_SECRET has ${secretCount}`);
      expect(message).toContain(`WEBHOOK_URLS has ${urlCount}`);
      for (const secret of [SECRET, OTHER_SECRET]) {
        expect(message).not.toContain(secret);
        expect(message).not.toContain(secret.slice(6, 20));
      }
    });

    it('names a malformed secret by its position, never by its value', () => {
      const malformed = 'whsec_c2hvcnQtYnV0LXNlY3JldA==';
      const env = {
        WEBHOOK_URLS: 'https://a.example/h,https://b.example/h',
        WEBHOOK_SECRET: `${SECRET},${malformed}`,
      };
      expect(() => loadConfig(env)).toThrow(
        new ConfigError('WEBHOOK_SECRET entry 2 must be whsec_ followed by the base64 of 24 to 64 bytes'),
      );
    });

    it('stops on a URL listed twice (one receiver, one secret)', () => {
      expect(() =>
        loadConfig({
          WEBHOOK_URLS: 'https://a.example/h,https://a.example/h',
          WEBHOOK_SECRET: `${SECRET},${OTHER_SECRET}`,
        }),
      ).toThrow(new ConfigError('WEBHOOK_URLS must not list the same URL twice'));
    });

    it.each([
      ['URLs without a secret', { WEBHOOK_URLS: 'https://a.example/h' }, 'WEBHOOK_SECRET is required'],
      [
        'a secret without its prefix',
        { WEBHOOK_SECRET: Buffer.alloc(32).toString('base64') },
        'WEBHOOK_SECRET',
      ],
      [
        'a secret of 8 bytes',
        { WEBHOOK_SECRET: `whsec_${Buffer.alloc(8).toString('base64')}` },
        'WEBHOOK_SECRET',
      ],
      ['a secret that is not base64', { WEBHOOK_SECRET: 'whsec_not base64!' }, 'WEBHOOK_SECRET'],
      [
        'a URL that does not parse',
        { WEBHOOK_URLS: 'hooks.example', WEBHOOK_SECRET: SECRET },
        'WEBHOOK_URLS',
      ],
      ['an ftp URL', { WEBHOOK_URLS: 'ftp://a.example/h', WEBHOOK_SECRET: SECRET }, 'WEBHOOK_URLS'],
      [
        'credentials in a URL',
        { WEBHOOK_URLS: 'https://u:hunter2@a.example/h', WEBHOOK_SECRET: SECRET },
        'WEBHOOK_URLS',
      ],
      [
        'plain http in production',
        { ...PRODUCTION, WEBHOOK_URLS: 'http://a.example/h', WEBHOOK_SECRET: SECRET },
        'WEBHOOK_URLS entries must use https:',
      ],
      ['a retry base of 0', { WEBHOOK_RETRY_BASE_MS: '0' }, 'WEBHOOK_RETRY_BASE_MS'],
    ])('stops on %s, naming the variable and never the secret', (_name, env, message) => {
      expect(() => loadConfig(env)).toThrow(
        expect.objectContaining({ message: expect.stringContaining(message) }),
      );
      expect(() => loadConfig(env)).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining('hunter2') }),
      );
    });

    it('allows plain http receivers in development (a local receiver)', () => {
      expect(
        loadConfig({ WEBHOOK_URLS: 'http://127.0.0.1:4000/hooks', WEBHOOK_SECRET: SECRET }).webhookUrls,
      ).toEqual(['http://127.0.0.1:4000/hooks']);
    });
  });

  describe('slices', () => {
    const config = loadConfig({
      ...PRODUCTION,
      WEBHOOK_URLS: 'https://a.example/h',
      WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    });

    it('puts every value of the configuration in exactly one slice', () => {
      const keys = SLICE_NAMES.flatMap((name) => Object.keys(configSlice(config, name)));
      expect(keys.filter((key, index) => keys.indexOf(key) !== index)).toEqual([]);
      expect(keys.sort()).toEqual(
        Object.keys(config)
          .filter((key) => key !== 'developmentDefaults')
          .sort(),
      );
    });

    it("gives a provider its slice's values and nothing else: no other slice's secret", () => {
      expect(configSlice(config, 'auth')).toEqual({
        authJwtSecret: PRODUCTION.AUTH_JWT_SECRET,
        authJwksUrl: null,
        authIssuer: null,
        authAudience: null,
        authRolesClaim: 'roles',
        authAdminRole: 'admin',
        authServiceClients: [],
        authServiceKeys: [],
        authMaxTokenLifetimeSeconds: 86_400,
        authJwtSecretUserOnly: true,
      });
      const outside = (name: (typeof SLICE_NAMES)[number]) => JSON.stringify(configSlice(config, name));
      for (const name of SLICE_NAMES.filter((slice) => slice !== 'bluum')) {
        expect(outside(name)).not.toContain(PRODUCTION.BLUUM_API_SECRET);
      }
      for (const name of SLICE_NAMES.filter((slice) => slice !== 'auth')) {
        expect(outside(name)).not.toContain(PRODUCTION.AUTH_JWT_SECRET);
      }
      expect(configSlice(config, 'bluum')).toMatchObject({
        bluumWorkBudgetMs: 25_000,
        bluumApiKey: 'live_key_123',
      });
      expect(Object.isFrozen(configSlice(config, 'webhooks'))).toBe(true);
    });
  });
});
