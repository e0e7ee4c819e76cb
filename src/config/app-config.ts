// The environment schema, validated once at boot: every variable in docs/operators.md's configuration table.
export type NodeEnv = 'development' | 'test' | 'production';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  readonly nodeEnv: NodeEnv;
  readonly port: number;
  /** null: the embedded PostgreSQL (PGlite) under `embeddedDatabaseDir`. */
  readonly databaseUrl: string | null;
  readonly embeddedDatabaseDir: string;
  /** null: the built-in Bluum sandbox served by this process. */
  readonly bluumBaseUrl: string | null;
  readonly bluumApiKey: string;
  readonly bluumApiSecret: string;
  readonly bluumTimeoutMs: number;
  /**
   * The longest a request's Bluum-bound work may take: one Bluum call plus a lookup call and the short
   * transactions around them. Leases, in-flight claims and the shutdown limit are derived from it.
   */
  readonly bluumWorkBudgetMs: number;
  /** Bluum calls in flight on one instance; above it, 503 BLUUM_BUSY at once. */
  readonly bluumMaxConcurrency: number;
  /** A request's headers and body must arrive within this (a trickling client is cut off). */
  readonly httpRequestTimeoutMs: number;
  /** Connections of the pool that writes (and every Prisma query) use. */
  readonly databasePoolSize: number;
  /** Connections kept for the read path and readiness, which writes never take. */
  readonly databaseReadPoolSize: number;
  /** The longest a request waits for a connection (acquiring one, or opening one). */
  readonly databaseConnectTimeoutMs: number;
  /** The longest one statement runs (server side), and waits for an answer (client side, a bit more). */
  readonly databaseStatementTimeoutMs: number;
  /** HS256 secret for service (and development) tokens; null: HS256 tokens are refused. */
  readonly authJwtSecret: string | null;
  /** The identity provider's JWKS; null: provider tokens are refused. */
  readonly authJwksUrl: string | null;
  /** Required `iss` and `aud` (required with authJwksUrl; checked on HS256 tokens too when set). */
  readonly authIssuer: string | null;
  readonly authAudience: string | null;
  /** The claim that holds roles: a name, or a dotted path such as `realm_access.roles`. */
  readonly authRolesClaim: string;
  /** The role (in authRolesClaim) that makes a caller an admin; a namespaced name works too. */
  readonly authAdminRole: string;
  /**
   * Client ids (a provider token's `azp` or `client_id`) whose scopes count: a user can often ask the
   * provider for any scope the API defines, so an end user's scopes grant nothing.
   */
  readonly authServiceClients: readonly string[];
  /** Origins of the frontends that may call the API from a browser; `localhost` adds any local port. */
  readonly corsAllowedOrigins: readonly string[];
  /** Development's default: any http://localhost or http://127.0.0.1 origin may call. */
  readonly corsAllowLocalhost: boolean;
  readonly docsEnabled: boolean;
  /** The address to listen on. */
  readonly host: string;
  /** When set, /metrics answers only `Authorization: Bearer <metricsToken>`. */
  readonly metricsToken: string | null;
  /** One user's Bluum calls in flight on one instance; above it, 429 RATE_LIMITED at once. */
  readonly bluumMaxConcurrencyPerUser: number;
  readonly logLevel: LogLevel;
  /** Origins a hosted link may redirect back to (`completionRedirectUri`); never an open redirect. */
  readonly linkCompletionRedirectOrigins: readonly string[];
  /** Writes (link-token, connect, sync) one user may make per minute. */
  readonly writeRateLimitPerMinute: number;
  /** How often expired idempotency keys, old exchange responses and rate-limit windows are removed; 0: never. */
  readonly retentionSweepSeconds: number;
  /** How often one instance brings every user's stored items in line with Bluum's list; 0: never. */
  readonly reconcileIntervalSeconds: number;
  /** Calls to Bluum the reconciliation sweep makes per second, across all instances. */
  readonly bluumMaxRequestsPerSecond: number;
  /** Where funding-source events are POSTed (none: no event is recorded or sent). Each URL once. */
  readonly webhookUrls: readonly string[];
  /**
   * The Standard Webhooks signing secrets (`whsec_` + base64), one per entry of webhookUrls and in the
   * same order: each receiver's deliveries are signed with its own, so no receiver can sign for another.
   */
  readonly webhookSecrets: readonly string[];
  /** A failed delivery's first retry comes after this long; each next one after twice the last. */
  readonly webhookRetryBaseMs: number;
  /** A receiver that has not answered an attempt within this has failed it. */
  readonly webhookTimeoutMs: number;
  /** The sandbox (and every development-only route) exists only outside production. */
  readonly sandboxEnabled: boolean;
  /** Names of the variables that fell back to a development default, for the boot log. */
  readonly developmentDefaults: readonly string[];
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Readonly<Record<string, string | undefined>>;

export const DEV_BLUUM_API_KEY = 'sandbox_key';
export const DEV_BLUUM_API_SECRET = 'sandbox_secret';
// Public on purpose: development tokens are signed with it, so it must never protect real data.
export const DEV_AUTH_JWT_SECRET = 'dev-only-secret-do-not-use-in-production';
const MIN_SECRET_LENGTH = 32;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw);
}

function parseUrl(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = read(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(' or ')})`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${url.protocol}`);
  }
  return raw;
}

// A comma-separated list of origins (scheme://host[:port]), nothing else.
function parseOrigins(env: Env, name: string, fallback: string[]): string[] {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  return raw.split(',').map((entry) => {
    const value = entry.trim();
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`${name} must be a comma-separated list of origins, got "${value}"`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.origin !== value.replace(/\/$/, '')) {
      throw new ConfigError(`${name} entries must be origins like https://app.example.com, got "${value}"`);
    }
    return url.origin;
  });
}

// The settings that say "this is a deployment": any of them without NODE_ENV means production's rules.
const DEPLOYMENT_SETTINGS = [
  'DATABASE_URL',
  'BLUUM_BASE_URL',
  'BLUUM_API_KEY',
  'BLUUM_API_SECRET',
  'AUTH_JWT_SECRET',
  'AUTH_JWKS_URL',
  'AUTH_ISSUER',
  'AUTH_AUDIENCE',
];

function parseBoolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}

type AuthConfig = Pick<
  AppConfig,
  | 'authJwtSecret'
  | 'authJwksUrl'
  | 'authIssuer'
  | 'authAudience'
  | 'authRolesClaim'
  | 'authAdminRole'
  | 'authServiceClients'
>;

/** The identity provider's JWKS and/or the shared secret: production needs at least one. */
function loadAuth(env: Env, production: boolean, why: string, developmentDefaults: string[]): AuthConfig {
  const jwksUrl = parseUrl(env, 'AUTH_JWKS_URL', production ? ['https:'] : ['https:', 'http:']) ?? null;
  const issuer = read(env, 'AUTH_ISSUER') ?? null;
  const audience = read(env, 'AUTH_AUDIENCE') ?? null;
  if (jwksUrl !== null && issuer === null)
    throw new ConfigError('AUTH_ISSUER is required with AUTH_JWKS_URL');
  if (jwksUrl !== null && audience === null) {
    throw new ConfigError('AUTH_AUDIENCE is required with AUTH_JWKS_URL');
  }
  let secret = read(env, 'AUTH_JWT_SECRET') ?? null;
  if (secret === null && production && jwksUrl === null) {
    throw new ConfigError(
      `AUTH_JWKS_URL (with AUTH_ISSUER, AUTH_AUDIENCE) or AUTH_JWT_SECRET is required${why}`,
    );
  }
  if (secret === null && !production) {
    developmentDefaults.push('AUTH_JWT_SECRET');
    secret = DEV_AUTH_JWT_SECRET;
  }
  if (production && secret !== null && secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError(`AUTH_JWT_SECRET must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  if (production && secret === DEV_AUTH_JWT_SECRET) {
    throw new ConfigError('AUTH_JWT_SECRET must not be the development secret in production');
  }
  return {
    authJwtSecret: secret,
    authJwksUrl: jwksUrl,
    authIssuer: issuer,
    authAudience: audience,
    authRolesClaim: read(env, 'AUTH_ROLES_CLAIM') ?? 'roles',
    authAdminRole: read(env, 'AUTH_ADMIN_ROLE') ?? 'admin',
    authServiceClients: (read(env, 'AUTH_SERVICE_CLIENTS') ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  };
}

// The Standard Webhooks specification's secret: "whsec_" and the base64 of 24 to 64 random bytes.
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

type WebhookConfig = Pick<
  AppConfig,
  'webhookUrls' | 'webhookSecrets' | 'webhookRetryBaseMs' | 'webhookTimeoutMs'
>;

/** Event receivers (https only in production) and, for each, the secret that signs what it gets. */
function loadWebhooks(env: Env, production: boolean): WebhookConfig {
  const protocols = production ? ['https:'] : ['https:', 'http:'];
  const webhookUrls = (read(env, 'WEBHOOK_URLS') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new ConfigError('WEBHOOK_URLS must be a comma-separated list of URLs');
      }
      if (!protocols.includes(url.protocol)) {
        throw new ConfigError(`WEBHOOK_URLS entries must use ${protocols.join(' or ')}, got ${url.protocol}`);
      }
      if (url.username !== '' || url.password !== '') {
        // Credentials in a URL end up in logs and admin listings: the signature is the receiver's proof.
        throw new ConfigError('WEBHOOK_URLS entries must not carry credentials (user:password@)');
      }
      return url.href;
    });
  if (new Set(webhookUrls).size !== webhookUrls.length) {
    // Each receiver is one signing secret and one queue: a URL listed twice would be neither.
    throw new ConfigError('WEBHOOK_URLS must not list the same URL twice');
  }
  // Base64 has no comma, so a comma only separates two secrets. Errors name positions, never values.
  const webhookSecrets = (read(env, 'WEBHOOK_SECRET') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  webhookSecrets.forEach((secret, index) => {
    const bytes = WEBHOOK_SECRET.test(secret) ? Buffer.from(secret.slice(6), 'base64').length : 0;
    if (bytes < 24 || bytes > 64) {
      throw new ConfigError(
        `WEBHOOK_SECRET entry ${index + 1} must be whsec_ followed by the base64 of 24 to 64 bytes`,
      );
    }
  });
  if (webhookUrls.length > 0 && webhookSecrets.length === 0) {
    throw new ConfigError('WEBHOOK_SECRET is required with WEBHOOK_URLS (one secret per URL)');
  }
  if (webhookSecrets.length !== webhookUrls.length) {
    throw new ConfigError(
      `WEBHOOK_SECRET has ${webhookSecrets.length} secret(s) but WEBHOOK_URLS has ` +
        `${webhookUrls.length} URL(s): give one secret per URL, comma-separated, in the same order`,
    );
  }
  return {
    webhookUrls,
    webhookSecrets,
    webhookRetryBaseMs: parseInteger(env, 'WEBHOOK_RETRY_BASE_MS', 5_000, 10, 600_000),
    webhookTimeoutMs: parseInteger(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
  };
}

// 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach.
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Builds the configuration from an environment, or throws a ConfigError whose message names the
 * offending variable (never its value when it is a secret).
 */
export function loadConfig(env: Env): AppConfig {
  const nodeEnvRaw = read(env, 'NODE_ENV');
  if (nodeEnvRaw !== undefined && !['development', 'test', 'production'].includes(nodeEnvRaw)) {
    throw new ConfigError(`NODE_ENV must be development, test or production, got "${nodeEnvRaw}"`);
  }
  // Fail closed: development defaults only when asked for (NODE_ENV=development|test) or when nothing at
  // all is configured (a fresh checkout). A deployment that sets some of its settings but not NODE_ENV is
  // held to production's requirements and runs as production.
  const deploymentSettings = DEPLOYMENT_SETTINGS.filter((name) => read(env, name) !== undefined);
  const nodeEnv: NodeEnv =
    (nodeEnvRaw as NodeEnv | undefined) ?? (deploymentSettings.length > 0 ? 'production' : 'development');
  const production = nodeEnv === 'production';
  const why =
    nodeEnvRaw === undefined
      ? ` (NODE_ENV is not set and ${deploymentSettings[0]} is: set NODE_ENV=development for development defaults)`
      : ' when NODE_ENV=production';
  const developmentDefaults: string[] = [];

  const required = (name: string, devDefault: string | undefined): string | undefined => {
    const value = read(env, name);
    if (value !== undefined) return value;
    if (production) throw new ConfigError(`${name} is required${why}`);
    developmentDefaults.push(name);
    return devDefault;
  };

  const port = parseInteger(env, 'PORT', 3000, 0, 65535);
  parseUrl(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const databaseUrl = required('DATABASE_URL', undefined) ?? null;
  parseUrl(env, 'BLUUM_BASE_URL', ['https:', 'http:']);
  const bluumBaseUrl = required('BLUUM_BASE_URL', undefined) ?? null;
  if (production && bluumBaseUrl !== null && new URL(bluumBaseUrl).protocol !== 'https:') {
    throw new ConfigError('BLUUM_BASE_URL must use https: in production');
  }
  const bluumApiKey = required('BLUUM_API_KEY', DEV_BLUUM_API_KEY) as string;
  const bluumApiSecret = required('BLUUM_API_SECRET', DEV_BLUUM_API_SECRET) as string;
  const bluumTimeoutMs = parseInteger(env, 'BLUUM_TIMEOUT_MS', 10_000, 100, 120_000);
  const bluumMaxConcurrency = parseInteger(env, 'BLUUM_MAX_CONCURRENCY', 50, 1, 10_000);
  const httpRequestTimeoutMs = parseInteger(env, 'HTTP_REQUEST_TIMEOUT_MS', 15_000, 1_000, 300_000);
  const databasePoolSize = parseInteger(env, 'DATABASE_POOL_SIZE', 10, 1, 1_000);
  const databaseReadPoolSize = parseInteger(env, 'DATABASE_READ_POOL_SIZE', 5, 1, 1_000);
  const databaseConnectTimeoutMs = parseInteger(env, 'DATABASE_CONNECT_TIMEOUT_MS', 2_000, 100, 60_000);
  const databaseStatementTimeoutMs = parseInteger(env, 'DATABASE_STATEMENT_TIMEOUT_MS', 3_000, 100, 60_000);
  const auth = loadAuth(env, production, why, developmentDefaults);

  const linkCompletionRedirectOrigins = parseOrigins(
    env,
    'LINK_COMPLETION_REDIRECT_ORIGINS',
    production ? [] : [`http://localhost:${port}`, `http://127.0.0.1:${port}`],
  );
  const corsOrigins = read(env, 'CORS_ALLOWED_ORIGINS');
  // Without the variable, development allows any local origin (corsAllowLocalhost) and production none.
  const corsAllowedOrigins = parseOrigins(env, 'CORS_ALLOWED_ORIGINS', []);
  const docsEnabled = parseBoolean(env, 'DOCS_ENABLED', true);
  const host = read(env, 'HOST') ?? (production ? '0.0.0.0' : '127.0.0.1');
  // The development secret is public: on any other interface, anyone on the network could sign an
  // admin token with it.
  if (auth.authJwtSecret === DEV_AUTH_JWT_SECRET && !isLoopback(host)) {
    throw new ConfigError(
      `HOST=${host} listens beyond this machine while tokens are signed with the public development secret: set AUTH_JWT_SECRET (or AUTH_JWKS_URL) or use HOST=127.0.0.1`,
    );
  }
  const metricsToken = read(env, 'METRICS_TOKEN') ?? null;
  if (metricsToken !== null && metricsToken.length < 16) {
    throw new ConfigError('METRICS_TOKEN must be at least 16 characters');
  }
  const bluumMaxConcurrencyPerUser = parseInteger(env, 'BLUUM_MAX_CONCURRENCY_PER_USER', 2, 1, 10_000);
  const writeRateLimitPerMinute = parseInteger(env, 'WRITE_RATE_LIMIT_PER_MINUTE', 30, 1, 100_000);
  const retentionSweepSeconds = parseInteger(env, 'RETENTION_SWEEP_SECONDS', 3_600, 0, 7 * 86_400);
  const reconcileIntervalSeconds = parseInteger(env, 'RECONCILE_INTERVAL_SECONDS', 3_600, 0, 7 * 86_400);
  // Bluum documents 25 a second per key pair in production (10 in its sandbox): 20 leaves room.
  const bluumMaxRequestsPerSecond = parseInteger(env, 'BLUUM_MAX_REQUESTS_PER_SECOND', 20, 1, 10_000);
  const logLevelRaw = (read(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevelRaw)) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"`);
  }

  return {
    nodeEnv,
    port,
    databaseUrl,
    embeddedDatabaseDir: '.data/pglite',
    bluumBaseUrl,
    bluumApiKey,
    bluumApiSecret,
    bluumTimeoutMs,
    // Two Bluum calls (disconnect may look the item's id up first) and a few short transactions.
    bluumWorkBudgetMs: 2 * bluumTimeoutMs + 5_000,
    bluumMaxConcurrency,
    httpRequestTimeoutMs,
    databasePoolSize,
    databaseReadPoolSize,
    databaseConnectTimeoutMs,
    databaseStatementTimeoutMs,
    ...auth,
    corsAllowedOrigins,
    corsAllowLocalhost: !production && corsOrigins === undefined,
    docsEnabled,
    host,
    metricsToken,
    bluumMaxConcurrencyPerUser,
    logLevel: logLevelRaw as LogLevel,
    linkCompletionRedirectOrigins,
    writeRateLimitPerMinute,
    retentionSweepSeconds,
    reconcileIntervalSeconds,
    bluumMaxRequestsPerSecond,
    ...loadWebhooks(env, production),
    sandboxEnabled: !production,
    developmentDefaults,
  };
}
