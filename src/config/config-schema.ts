// Every environment variable the service reads, declared once: its name, how it is parsed and validated,
// its defaults and its line in docs/operators.md's configuration table. loadConfig (app-config.ts) walks
// this table, the configuration's types are inferred from it, the providers are given its slices
// (config.module.ts), and `npm run docs:config` writes the operators' table from it.

import { SCOPES, type Scope } from '../auth/scopes';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/** Bluum's funding-source API generations this service speaks (see the gateway's two adapters). */
export const BLUUM_API_VERSIONS = ['accounts', 'investors'] as const;
export type BluumApiVersion = (typeof BLUUM_API_VERSIONS)[number];
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEV_BLUUM_API_KEY = 'sandbox_key';
export const DEV_BLUUM_API_SECRET = 'sandbox_secret';
// Public on purpose: development tokens are signed with it, so it must never protect real data.
export const DEV_AUTH_JWT_SECRET = 'dev-only-secret-do-not-use-in-production';
const MIN_SECRET_LENGTH = 32;

/** What a parser or a default may depend on besides the variable itself. */
export interface Rules {
  readonly nodeEnv: NodeEnv;
  readonly production: boolean;
}

/** A set variable's value (trimmed, never empty), or a ConfigError naming `name` and never a secret. */
export type Parser<T> = (raw: string, name: string, rules: Rules) => T;

export interface Variable<T> {
  readonly kind: 'variable';
  /** The environment variable. */
  readonly env: string;
  readonly parse: Parser<T>;
  /**
   * The value when the variable is unset, or how to make it from the rules and the values read before it
   * (in this table's order). Without one, an unset variable stops production: "`env` is required".
   */
  readonly default?: T | ((rules: Rules, earlier: Readonly<Record<string, unknown>>) => T);
  /** Outside production, an unset variable takes this instead, and the boot log names it. */
  readonly developmentDefault?: T;
  /** Set, it says "this is a deployment": without NODE_ENV, production's rules then apply. */
  readonly deployment?: true;
  /** The meaning cell of its row in docs/operators.md. */
  readonly doc: string;
  /** The default cell of its row in docs/operators.md. */
  readonly defaultDoc: string;
}

/** A value made from the variables (never read from the environment itself). */
export interface Derived<T> {
  readonly kind: 'derived';
  // The values it reads are declared by the function's own parameter type.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly derive: (config: any, rules: Rules) => T;
}

function variable<T>(spec: Omit<Variable<T>, 'kind'>): Variable<T> {
  return { kind: 'variable', ...spec };
}

function derived<C, T>(derive: (config: C, rules: Rules) => T): Derived<T> {
  return { kind: 'derived', derive };
}

// --- parsers -------------------------------------------------------------------------------------------

const text: Parser<string> = (raw) => raw;

function integer(min: number, max: number): Parser<number> {
  return (raw, name) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  };
}

const boolean: Parser<boolean> = (value, name) => {
  const raw = value.toLowerCase();
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
};

/** The URL as given, of one of `protocols` (production's, when they differ). */
function url(protocols: readonly string[], productionProtocols = protocols): Parser<string> {
  return (raw, name, rules) => {
    const allowed = rules.production ? productionProtocols : protocols;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(`${name} must be a URL (${allowed.join(' or ')})`);
    }
    if (!allowed.includes(parsed.protocol)) {
      throw new ConfigError(`${name} must use ${allowed.join(' or ')}, got ${parsed.protocol}`);
    }
    return raw;
  };
}

/** Comma-separated entries, each trimmed; empty entries are dropped. */
function entries(raw: string): string[] {
  return raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

const list: Parser<readonly string[]> = (raw) => entries(raw);

// A comma-separated list of origins (scheme://host[:port]), nothing else; https only in production, where a
// plain-http origin is one any network on the way can impersonate (a frontend allowed to read bank data,
// or where a hosted link sends the user back).
const origins: Parser<readonly string[]> = (raw, name, rules) =>
  raw.split(',').map((entry) => {
    const value = entry.trim();
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ConfigError(`${name} must be a comma-separated list of origins, got "${value}"`);
    }
    if (!['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== value.replace(/\/$/, '')) {
      throw new ConfigError(`${name} entries must be origins like https://app.example.com, got "${value}"`);
    }
    if (rules.production && parsed.protocol !== 'https:') {
      throw new ConfigError(`${name} entries must be https: origins in production, got "${value}"`);
    }
    return parsed.origin;
  });

function minLength(length: number): Parser<string> {
  return (raw, name) => {
    if (raw.length < length) throw new ConfigError(`${name} must be at least ${length} characters`);
    return raw;
  };
}

// The Standard Webhooks specification's secret: "whsec_" and the base64 of 24 to 64 random bytes.
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

/** Event receivers: https only in production, no credentials, each once. */
const webhookUrls: Parser<readonly string[]> = (raw, name, rules) => {
  const protocols = rules.production ? ['https:'] : ['https:', 'http:'];
  const urls = entries(raw).map((entry) => {
    let parsed: URL;
    try {
      parsed = new URL(entry);
    } catch {
      throw new ConfigError(`${name} must be a comma-separated list of URLs`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(`${name} entries must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
    }
    if (parsed.username !== '' || parsed.password !== '') {
      // Credentials in a URL end up in logs and admin listings: the signature is the receiver's proof.
      throw new ConfigError(`${name} entries must not carry credentials (user:password@)`);
    }
    return parsed.href;
  });
  if (new Set(urls).size !== urls.length) {
    // Each receiver is one signing secret and one queue: a URL listed twice would be neither.
    throw new ConfigError(`${name} must not list the same URL twice`);
  }
  return urls;
};

// Base64 has no comma, so a comma only separates two secrets. Errors name positions, never values.
const webhookSecrets: Parser<readonly string[]> = (raw, name) => {
  const secrets = entries(raw);
  secrets.forEach((secret, index) => {
    const bytes = WEBHOOK_SECRET.test(secret) ? Buffer.from(secret.slice(6), 'base64').length : 0;
    if (bytes < 24 || bytes > 64) {
      throw new ConfigError(
        `${name} entry ${index + 1} must be whsec_ followed by the base64 of 24 to 64 bytes`,
      );
    }
  });
  return secrets;
};

/** One service's own HS256 key (AUTH_SERVICE_KEYS): tokens whose header names its kid are that client's. */
export interface ServiceKey {
  readonly kid: string;
  /** The principal its tokens act as, whatever their `sub` says. */
  readonly client: string;
  readonly secret: string;
  /** The most its tokens may hold: what a token claims, intersected with these (all when it claims none). */
  readonly scopes: readonly Scope[];
  readonly admin: boolean;
}

// A principal's id, as the user ids of the API: written to the audit trail and rate-limit keys.
const CLIENT_ID = /^[A-Za-z0-9._:|@-]{1,128}$/;
const KID = /^[A-Za-z0-9._:-]{1,128}$/;

// A JSON array of { kid, client, secret, scopes, admin }. Errors name the entry's position and field,
// never a secret (nor a value that might be one pasted in the wrong place).
const serviceKeys: Parser<readonly ServiceKey[]> = (raw, name) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError(`${name} must be a JSON array of { kid, client, secret, scopes, admin }`);
  }
  if (!Array.isArray(parsed)) {
    throw new ConfigError(`${name} must be a JSON array of { kid, client, secret, scopes, admin }`);
  }
  const keys = parsed.map((entry: unknown, index): ServiceKey => {
    const at = `${name} entry ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      throw new ConfigError(`${at} must be an object`);
    }
    const { kid, client, secret, scopes = [], admin = false, ...rest } = entry as Record<string, unknown>;
    const unknownFields = Object.keys(rest);
    if (unknownFields.length > 0)
      throw new ConfigError(`${at} has unknown fields: ${unknownFields.join(', ')}`);
    if (typeof kid !== 'string' || !KID.test(kid)) {
      throw new ConfigError(`${at}: kid must be 1-128 letters, digits or . _ : -`);
    }
    if (typeof client !== 'string' || !CLIENT_ID.test(client)) {
      throw new ConfigError(`${at} (kid ${kid}): client must be 1-128 letters, digits or . _ : | @ -`);
    }
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new ConfigError(`${at} (kid ${kid}): secret must be at least ${MIN_SECRET_LENGTH} characters`);
    }
    if (secret === DEV_AUTH_JWT_SECRET) {
      throw new ConfigError(`${at} (kid ${kid}): secret must not be the development secret`);
    }
    if (!Array.isArray(scopes) || !scopes.every((scope) => (SCOPES as readonly unknown[]).includes(scope))) {
      throw new ConfigError(`${at} (kid ${kid}): scopes must be an array of ${SCOPES.join(', ')}`);
    }
    if (typeof admin !== 'boolean') throw new ConfigError(`${at} (kid ${kid}): admin must be true or false`);
    return { kid, client, secret, scopes: scopes as Scope[], admin };
  });
  const kids = keys.map((key) => key.kid);
  const twice = kids.find((kid, index) => kids.indexOf(kid) !== index);
  if (twice !== undefined) throw new ConfigError(`${name} names kid ${twice} twice`);
  const secrets = keys.map((key) => key.secret);
  if (new Set(secrets).size !== secrets.length) {
    // One secret, two entries: a token could be verified as either, so neither is whose it says.
    throw new ConfigError(`${name}: every entry needs a secret of its own`);
  }
  return keys;
};

// --- the table -----------------------------------------------------------------------------------------
// Grouped by slice: each provider is given the slice it needs (config.module.ts). Within the table, order
// matters twice: it is the order of the rows in docs/operators.md, and of the checks (the first error
// stops the boot, so a missing DATABASE_URL is named before a missing BLUUM_BASE_URL).

/** NODE_ENV's parser, which loadConfig runs first: every other variable's rules depend on it. */
export const parseNodeEnv = (raw: string, name: string): NodeEnv => {
  if (!(NODE_ENVS as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be development, test or production, got "${raw}"`);
  }
  return raw as NodeEnv;
};

export const CONFIG_SCHEMA = {
  /** The process: bootstrap, the logger, the sandbox's presence. */
  runtime: {
    nodeEnv: variable<NodeEnv>({
      env: 'NODE_ENV',
      parse: parseNodeEnv,
      // Decided before the table is read, as parsers and defaults depend on it: see loadConfig.
      default: (rules) => rules.nodeEnv,
      doc: '`production` demands every secret below and turns the sandbox off',
      defaultDoc: '`development`',
    }),
    logLevel: variable<LogLevel>({
      env: 'LOG_LEVEL',
      parse: (value, name) => {
        const raw = value.toLowerCase();
        if (!(LOG_LEVELS as readonly string[]).includes(raw)) {
          throw new ConfigError(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
        }
        return raw as LogLevel;
      },
      default: 'info',
      doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`; secrets and tokens stay out at every level',
      defaultDoc: '`info`',
    }),
    /**
     * The sandbox (and every development-only route: its demo page, its token minting) exists only
     * outside production, and only on a loopback HOST: on a reachable address, anyone on the network could
     * have it sign a token for a new user id, whatever the secret.
     */
    sandboxEnabled: derived(
      (config: { readonly host: string }, rules) => !rules.production && isLoopback(config.host),
    ),
  },

  /** What the HTTP server exposes and how much it takes. */
  http: {
    port: variable({
      env: 'PORT',
      parse: integer(0, 65535),
      default: 3000,
      doc: 'HTTP port',
      defaultDoc: '`3000`',
    }),
    /** The address to listen on. */
    host: variable({
      env: 'HOST',
      parse: text,
      default: (rules) => (rules.production ? '0.0.0.0' : '127.0.0.1'),
      doc: 'address to listen on; in development a non-loopback address stops the boot while tokens are signed with the public development secret (set `AUTH_JWT_SECRET`)',
      defaultDoc: 'production: `0.0.0.0`; development: `127.0.0.1`',
    }),
    docsEnabled: variable({
      env: 'DOCS_ENABLED',
      parse: boolean,
      default: true,
      doc: 'serve Swagger UI (`/docs`) and the OpenAPI document (`/docs-json`, `/docs-yaml`); in production only with `DOCS_PUBLIC=true` too, since they answer anyone and list the admin routes',
      defaultDoc: '`true`',
    }),
    docsPublic: variable({
      env: 'DOCS_PUBLIC',
      parse: boolean,
      default: false,
      doc: 'production: `true` serves the docs (with `DOCS_ENABLED`) to anyone who reaches the service; unset, production serves none',
      defaultDoc: '`false`',
    }),
    /** The docs are served: DOCS_ENABLED, and outside production or with DOCS_PUBLIC. */
    docsServed: derived(
      (config: { readonly docsEnabled: boolean; readonly docsPublic: boolean }, rules) =>
        config.docsEnabled && (!rules.production || config.docsPublic),
    ),
    /** Origins of the frontends that may call the API from a browser. */
    corsAllowedOrigins: variable({
      env: 'CORS_ALLOWED_ORIGINS',
      parse: origins,
      default: [],
      doc: 'comma-separated exact origins of the frontends that call the API from a browser',
      defaultDoc: 'production: none; development: any `http://localhost:*`, `http://127.0.0.1:*`',
    }),
    /**
     * Development's default: any http://localhost or http://127.0.0.1 origin may call. A set
     * CORS_ALLOWED_ORIGINS always lists one origin or more, so an empty list means it is unset.
     */
    corsAllowLocalhost: derived(
      (config: { readonly corsAllowedOrigins: readonly string[] }, rules) =>
        !rules.production && config.corsAllowedOrigins.length === 0,
    ),
    /** A request's headers and body must arrive within this (a trickling client is cut off). */
    httpRequestTimeoutMs: variable({
      env: 'HTTP_REQUEST_TIMEOUT_MS',
      parse: integer(1_000, 300_000),
      default: 15_000,
      doc: "a request's headers and body must have arrived within this; a client trickling its body is cut off (408). The time the service then takes is not counted (1000–300000)",
      defaultDoc: '`15000`',
    }),
    /** When set, /metrics answers only `Authorization: Bearer <metricsToken>`. */
    metricsToken: variable<string | null>({
      env: 'METRICS_TOKEN',
      parse: minLength(16),
      default: null,
      doc: 'when set (16 characters or more), `/metrics` answers only `Authorization: Bearer <METRICS_TOKEN>`, else 401; unset in production, `/metrics` answers 401 to everyone unless `METRICS_PUBLIC=true`',
      defaultDoc: 'none: in development `/metrics` is open, in production closed',
    }),
    metricsPublic: variable({
      env: 'METRICS_PUBLIC',
      parse: boolean,
      default: false,
      doc: 'production without `METRICS_TOKEN`: `true` serves `/metrics` to anyone who reaches it (a scraper on a private network); ignored when `METRICS_TOKEN` is set',
      defaultDoc: '`false`',
    }),
    /** /metrics answers without a token: development, or production that said so (METRICS_PUBLIC). */
    metricsOpen: derived(
      (config: { readonly metricsToken: string | null; readonly metricsPublic: boolean }, rules) =>
        config.metricsToken === null && (!rules.production || config.metricsPublic),
    ),
    /** Requests one end user's token may make per minute, on every authenticated route. */
    requestRateLimitPerMinute: variable({
      env: 'REQUEST_RATE_LIMIT_PER_MINUTE',
      parse: integer(1, 1_000_000),
      default: 600,
      doc: "requests (reads included) one end user's token may make per minute on the `/v1` routes, counted across instances (each instance adds its count to PostgreSQL's once a second, so N instances may let up to N seconds' worth more through); beyond it 429 `RATE_LIMITED` with `Retry-After`, so one caller cannot starve the read pool the deposit services share",
      defaultDoc: '`600`',
    }),
    /** The same for a service's or an admin's token: they read for many users. */
    serviceRequestRateLimitPerMinute: variable({
      env: 'SERVICE_REQUEST_RATE_LIMIT_PER_MINUTE',
      parse: integer(1, 10_000_000),
      default: 60_000,
      doc: "as `REQUEST_RATE_LIMIT_PER_MINUTE`, for one service's or admin's token (a deposit service reads on every transfer, for every user)",
      defaultDoc: '`60000`',
    }),
    /** Writes (link-token, connect, sync) one user may make per minute. */
    writeRateLimitPerMinute: variable({
      env: 'WRITE_RATE_LIMIT_PER_MINUTE',
      parse: integer(1, 100_000),
      default: 30,
      doc: 'writes (link-token, connect, sync) one user may make per minute, counted in PostgreSQL across instances',
      defaultDoc: '`30`',
    }),
  },

  /** PrismaService's pools. */
  database: {
    /** null: the embedded PostgreSQL (PGlite) under `embeddedDatabaseDir`. */
    databaseUrl: variable<string | null>({
      env: 'DATABASE_URL',
      parse: url(['postgres:', 'postgresql:']),
      developmentDefault: null,
      deployment: true,
      doc: 'PostgreSQL URL (`postgres://` or `postgresql://`)',
      defaultDoc: 'development: an embedded database under `.data/`',
    }),
    embeddedDatabaseDir: derived((): string => '.data/pglite'),
    /** Connections of the pool that writes (and every Prisma query) use. */
    databasePoolSize: variable({
      env: 'DATABASE_POOL_SIZE',
      parse: integer(1, 1_000),
      default: 10,
      doc: 'connections for writes and every transaction (1–1000)',
      defaultDoc: '`10`',
    }),
    /** Connections kept for the read path and readiness, which writes never take. */
    databaseReadPoolSize: variable({
      env: 'DATABASE_READ_POOL_SIZE',
      parse: integer(1, 1_000),
      default: 5,
      doc: "connections kept for the deposit services' reads and `/health/ready`, which writes never take (1–1000)",
      defaultDoc: '`5`',
    }),
    /** The longest a request waits for a connection (acquiring one, or opening one). */
    databaseConnectTimeoutMs: variable({
      env: 'DATABASE_CONNECT_TIMEOUT_MS',
      parse: integer(100, 60_000),
      default: 2_000,
      doc: 'the longest a request waits for a database connection (to open one, or for a free one) before 503 (100–60000)',
      defaultDoc: '`2000`',
    }),
    /** The longest one statement runs (server side), and waits for an answer (client side, a bit more). */
    databaseStatementTimeoutMs: variable({
      env: 'DATABASE_STATEMENT_TIMEOUT_MS',
      parse: integer(100, 60_000),
      default: 3_000,
      doc: "the longest one statement runs (PostgreSQL's `statement_timeout`); the client gives up 500 ms later on a link that stopped answering (100–60000)",
      defaultDoc: '`3000`',
    }),
  },

  /** The gateway (endpoint, bulkhead), the sandbox's credentials, and the services that wait on Bluum. */
  bluum: {
    /** null: the built-in Bluum sandbox served by this process. */
    bluumBaseUrl: variable<string | null>({
      env: 'BLUUM_BASE_URL',
      parse: (raw, name, rules) => {
        const value = url(['https:', 'http:'])(raw, name, rules);
        if (rules.production && new URL(value).protocol !== 'https:') {
          throw new ConfigError(`${name} must use https: in production`);
        }
        return value;
      },
      developmentDefault: null,
      deployment: true,
      doc: 'Bluum API base URL, with or without `/v1`; `https:` in production',
      defaultDoc: 'development: the built-in Bluum sandbox',
    }),
    bluumApiKey: variable({
      env: 'BLUUM_API_KEY',
      parse: text,
      developmentDefault: DEV_BLUUM_API_KEY,
      deployment: true,
      doc: "Bluum's Basic-auth user name (the API key)",
      defaultDoc: "development: the sandbox's key",
    }),
    bluumApiSecret: variable({
      env: 'BLUUM_API_SECRET',
      parse: text,
      developmentDefault: DEV_BLUUM_API_SECRET,
      deployment: true,
      doc: "Bluum's Basic-auth password (the API secret)",
      defaultDoc: "development: the sandbox's secret",
    }),
    bluumApiVersion: variable<BluumApiVersion>({
      env: 'BLUUM_API_VERSION',
      parse: (raw, name) => {
        const version = BLUUM_API_VERSIONS.find((candidate) => candidate === raw);
        if (version === undefined) {
          throw new ConfigError(`${name} must be one of ${BLUUM_API_VERSIONS.join(', ')}, got "${raw}"`);
        }
        return version;
      },
      default: 'accounts',
      doc: "the generation of Bluum's funding-source API: `accounts` (`/v1/accounts/{uuid}/funding-sources/plaid/…`, one item with its accounts) or `investors` (`/v1/investors/{inv_…}/funding-sources/…`, one `fs_…` funding source per bank account)",
      defaultDoc: '`accounts`',
    }),
    /** Hosts a hosted link URL from Bluum may be on: frontends send the browser there as it is. */
    bluumHostedLinkHosts: variable<readonly string[]>({
      env: 'BLUUM_HOSTED_LINK_HOSTS',
      parse: (raw, name) =>
        entries(raw).map((host) => {
          if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(host)) {
            throw new ConfigError(`${name} must be comma-separated lower-case host names, got "${host}"`);
          }
          return host;
        }),
      default: ['hosted.plaid.com'],
      doc: "comma-separated hosts a hosted link URL from Bluum may be on (`hostedLinkUrl` is where frontends send the browser); a link-token reply with any other host is refused (502 `BLUUM_BAD_RESPONSE`). The built-in sandbox's own page is always allowed",
      defaultDoc: '`[hosted.plaid.com]`',
    }),
    bluumTimeoutMs: variable({
      env: 'BLUUM_TIMEOUT_MS',
      parse: integer(100, 120_000),
      default: 10_000,
      doc: "one Bluum call's time limit (100–120000)",
      defaultDoc: '`10000`',
    }),
    /**
     * The longest a request's Bluum-bound work may take: one Bluum call plus a lookup call and the short
     * transactions around them. Leases, in-flight claims and the shutdown limit are derived from it.
     */
    bluumWorkBudgetMs: derived(
      (config: { readonly bluumTimeoutMs: number }) => 2 * config.bluumTimeoutMs + 5_000,
    ),
    /** Bluum calls in flight on one instance; above it, 503 BLUUM_BUSY at once. */
    bluumMaxConcurrency: variable({
      env: 'BLUUM_MAX_CONCURRENCY',
      parse: integer(1, 10_000),
      default: 50,
      doc: 'calls to Bluum in flight on one instance; beyond it a Bluum-bound request is refused at once with 503 `BLUUM_BUSY` (1–10000); the reconciliation sweep takes at most half, but at least one, so at `1` it may hold the only slot: use 2 or more when reconciliation is on',
      defaultDoc: '`50`',
    }),
    /** One user's Bluum calls in flight on one instance; above it, 429 RATE_LIMITED at once. */
    bluumMaxConcurrencyPerUser: variable({
      env: 'BLUUM_MAX_CONCURRENCY_PER_USER',
      parse: integer(1, 10_000),
      default: 2,
      doc: 'calls to Bluum one user may have in flight on one instance; beyond it a request is answered at once with 429 `RATE_LIMITED` and `Retry-After: 1`, without calling Bluum, so one user cannot fill `BLUUM_MAX_CONCURRENCY` (1–10000)',
      defaultDoc: '`2`',
    }),
    /** Origins a hosted link may redirect back to (`completionRedirectUri`); never an open redirect. */
    linkCompletionRedirectOrigins: variable({
      env: 'LINK_COMPLETION_REDIRECT_ORIGINS',
      parse: origins,
      // PORT is read before this (the http slice comes first).
      default: (rules, earlier): readonly string[] =>
        rules.production
          ? []
          : [`http://localhost:${earlier.port as number}`, `http://127.0.0.1:${earlier.port as number}`],
      doc: 'comma-separated origins (`https://app.example.com`) a hosted link may send the user back to (`completionRedirectUri`); anything else is a 400, so the hosted link is never an open redirect',
      defaultDoc: 'development: `http://localhost:$PORT`, `http://127.0.0.1:$PORT`; production: none',
    }),
  },

  /** The token verifier, and the sandbox's demo tokens. */
  auth: {
    /** HS256 secret for end users' (and development) tokens; null: such tokens are refused. */
    authJwtSecret: variable<string | null>({
      env: 'AUTH_JWT_SECRET',
      parse: (raw, name, rules) => {
        if (rules.production && raw.length < MIN_SECRET_LENGTH) {
          throw new ConfigError(`${name} must be at least ${MIN_SECRET_LENGTH} characters`);
        }
        if (rules.production && raw === DEV_AUTH_JWT_SECRET) {
          throw new ConfigError(`${name} must not be the development secret in production`);
        }
        return raw;
      },
      // Production may do without it when AUTH_JWKS_URL is set (CONFIG_CHECKS).
      default: null,
      developmentDefault: DEV_AUTH_JWT_SECRET,
      deployment: true,
      doc: "HS256 secret for end users' tokens (whoever issues them holds it); in production such a token acts as its `sub` and nothing more (its roles and scopes are ignored: services use `AUTH_SERVICE_KEYS` or the identity provider); at least 32 characters, not the development one; production needs this, `AUTH_SERVICE_KEYS` or `AUTH_JWKS_URL`",
      defaultDoc: 'development: a fixed dev secret, logged as such',
    }),
    /** The identity provider's JWKS; null: provider tokens are refused. */
    authJwksUrl: variable<string | null>({
      env: 'AUTH_JWKS_URL',
      parse: url(['https:', 'http:'], ['https:']),
      default: null,
      deployment: true,
      doc: "the identity provider's JWKS (`https:` in production); requires `AUTH_ISSUER` and `AUTH_AUDIENCE` (see [Authentication](#authentication))",
      defaultDoc: 'none',
    }),
    /** Required `iss` and `aud` (required with authJwksUrl; checked on HS256 tokens too when set). */
    authIssuer: variable<string | null>({
      env: 'AUTH_ISSUER',
      parse: text,
      default: null,
      deployment: true,
      doc: 'the `iss` every token must carry; required with `AUTH_JWKS_URL`, checked on service tokens too when set',
      defaultDoc: 'none',
    }),
    authAudience: variable<string | null>({
      env: 'AUTH_AUDIENCE',
      parse: text,
      default: null,
      deployment: true,
      doc: 'the `aud` every token must carry; required with `AUTH_JWKS_URL`, checked on service tokens too when set',
      defaultDoc: 'none',
    }),
    /** The claim that holds roles: a name, or a dotted path such as `realm_access.roles`. */
    authRolesClaim: variable({
      env: 'AUTH_ROLES_CLAIM',
      parse: text,
      default: 'roles',
      doc: 'the claim holding roles: a name (`https://example.com/roles`) or a dotted path (`realm_access.roles`)',
      defaultDoc: '`roles`',
    }),
    /** The role (in authRolesClaim) that makes a caller an admin; a namespaced name works too. */
    authAdminRole: variable({
      env: 'AUTH_ADMIN_ROLE',
      parse: text,
      default: 'admin',
      doc: 'the role (in `AUTH_ROLES_CLAIM`) that makes a caller an admin; a namespaced name works too',
      defaultDoc: '`admin`',
    }),
    /**
     * Client ids (a provider token's `azp` or `client_id`) whose scopes count: a user can often ask the
     * provider for any scope the API defines, so an end user's scopes grant nothing.
     */
    authServiceClients: variable({
      env: 'AUTH_SERVICE_CLIENTS',
      parse: list,
      default: [],
      doc: "comma-separated client ids (`azp` or `client_id` of a provider token) whose scopes count; an end user's scopes grant nothing (see [Authentication](#authentication))",
      defaultDoc: 'none',
    }),
    /** Each service's own HS256 key, scopes and admin flag; a token names its entry by its header's kid. */
    authServiceKeys: variable<readonly ServiceKey[]>({
      env: 'AUTH_SERVICE_KEYS',
      parse: serviceKeys,
      default: [],
      deployment: true,
      doc: 'a JSON array of `{ "kid", "client", "secret", "scopes": [...], "admin" }`, one per service key (for services without the identity provider\'s client credentials): an HS256 token whose header `kid` names an entry acts as `client` (never its `sub`), with the scopes it claims that the entry lists (all of them when it claims none), and is an admin only with `"admin": true` (default `false`); `secret` 32+ characters, each its own; two entries may name one client, to rotate its key (see [Authentication](#authentication))',
      defaultDoc: 'none',
    }),
    /** The longest a token may be valid for, from its iat (or from now, without one). */
    authMaxTokenLifetimeSeconds: variable({
      env: 'AUTH_MAX_TOKEN_LIFETIME_SECONDS',
      parse: integer(60, 30 * 86_400),
      default: 86_400,
      doc: 'the longest a bearer token may be valid for: `exp` minus `iat` (minus now, for a provider token without `iat`), with 5 s of clock skew; a token issued in the future is refused too. Shared-key tokens (`AUTH_JWT_SECRET`, `AUTH_SERVICE_KEYS`) must carry `iat` in production (60–2592000)',
      defaultDoc: '`86400`',
    }),
    /**
     * Production: an AUTH_JWT_SECRET token is an end user's, its roles and scopes ignored. Development
     * keeps them, so the README's walk-through can sign an admin token with the development secret.
     */
    authJwtSecretUserOnly: derived((_config: unknown, rules) => rules.production),
  },

  /** The background sweeps. */
  jobs: {
    /** How often expired idempotency keys, old exchange responses and rate-limit windows are removed; 0: never. */
    retentionSweepSeconds: variable({
      env: 'RETENTION_SWEEP_SECONDS',
      parse: integer(0, 7 * 86_400),
      default: 3_600,
      doc: 'how often one instance (whichever claims the run in PostgreSQL) removes expired idempotency keys, drops the stored connect responses of public-token exchanges older than 24 h (the token stays refused), removes rate-limit windows older than an hour, and webhook deliveries delivered over 7 days or failed over 30 days ago (and pending ones no instance claims, 30 days after their retries ended: their URL left `WEBHOOK_URLS`), in batches of 1000, with one log line per sweep; `0` turns it off (0–604800)',
      defaultDoc: '`3600`',
    }),
    /** How often one instance brings every user's stored items in line with Bluum's list; 0: never. */
    reconcileIntervalSeconds: variable({
      env: 'RECONCILE_INTERVAL_SECONDS',
      parse: integer(0, 7 * 86_400),
      default: 3_600,
      doc: "how often one instance (whichever claims the run in PostgreSQL) reads Bluum's list for every user with a bank not all disconnected and brings the stored funding sources in line with it (see [Reconciliation](#reconciliation)); `0` turns it off (0–604800)",
      defaultDoc: '`3600`',
    }),
    /** Calls to Bluum the reconciliation sweep makes per second, across all instances. */
    bluumMaxRequestsPerSecond: variable({
      env: 'BLUUM_MAX_REQUESTS_PER_SECOND',
      parse: integer(1, 10_000),
      // Bluum documents 25 a second per key pair in production (10 in its sandbox): 20 leaves room.
      default: 20,
      doc: "calls to Bluum the reconciliation sweep makes per second, counted in PostgreSQL across all instances (Bluum documents 25 per key pair in production, 10 in its sandbox); users' own requests are not counted against it (1–10000)",
      defaultDoc: '`20`',
    }),
  },

  /** The outbox and its dispatcher. */
  webhooks: {
    /** Where funding-source events are POSTed (none: no event is recorded or sent). Each URL once. */
    webhookUrls: variable({
      env: 'WEBHOOK_URLS',
      parse: webhookUrls,
      default: [],
      doc: 'comma-separated URLs that receive the funding-source events (`https:` in production; no `user:password@`; each URL once); none: no event is recorded or sent',
      defaultDoc: 'none',
    }),
    /**
     * The Standard Webhooks signing secrets (`whsec_` + base64), one per entry of webhookUrls and in the
     * same order: each receiver's deliveries are signed with its own, so no receiver can sign for another.
     */
    webhookSecrets: variable({
      env: 'WEBHOOK_SECRET',
      parse: webhookSecrets,
      default: [],
      doc: "one signing secret per URL of `WEBHOOK_URLS`, comma-separated, in the same order, each `whsec_` + base64 of 24–64 bytes (Standard Webhooks): every receiver's events are signed with its own secret, so no receiver can forge events to another. One URL takes one secret. A count that differs from the URLs' stops the boot (the message names both variables, never a secret); required with `WEBHOOK_URLS`",
      defaultDoc: 'none',
    }),
    /** A receiver that has not answered an attempt within this has failed it. */
    webhookTimeoutMs: variable({
      env: 'WEBHOOK_TIMEOUT_MS',
      parse: integer(100, 60_000),
      default: 10_000,
      doc: 'a receiver that has not answered an attempt within this has failed it; the attempt is retried (100–60000)',
      defaultDoc: '`10000`',
    }),
    /** A failed delivery's first retry comes after this long; each next one after twice the last. */
    webhookRetryBaseMs: variable({
      env: 'WEBHOOK_RETRY_BASE_MS',
      parse: integer(10, 600_000),
      default: 5_000,
      doc: "a failed delivery's first retry comes after this, each next after twice the last, at most an hour (10–600000)",
      defaultDoc: '`5000`',
    }),
  },
};

export type SliceName = keyof typeof CONFIG_SCHEMA;
export const SLICE_NAMES = Object.keys(CONFIG_SCHEMA) as SliceName[];

type ValueOf<E> = E extends Variable<infer T> ? T : E extends Derived<infer T> ? T : never;
/** A slice's values, as its providers are given them. */
export type ConfigSlice<N extends SliceName> = {
  readonly [K in keyof (typeof CONFIG_SCHEMA)[N]]: ValueOf<(typeof CONFIG_SCHEMA)[N][K]>;
};

export type RuntimeConfig = ConfigSlice<'runtime'>;
export type HttpConfig = ConfigSlice<'http'>;
export type DatabaseConfig = ConfigSlice<'database'>;
export type BluumConfig = ConfigSlice<'bluum'>;
export type AuthConfig = ConfigSlice<'auth'>;
export type JobsConfig = ConfigSlice<'jobs'>;
export type WebhooksConfig = ConfigSlice<'webhooks'>;

/** The whole configuration: every slice's values side by side, for bootstrap and tests. */
export type AppConfig = RuntimeConfig &
  HttpConfig &
  DatabaseConfig &
  BluumConfig &
  AuthConfig &
  JobsConfig &
  WebhooksConfig & {
    /** Names of the variables that fell back to a development default, for the boot log. */
    readonly developmentDefaults: readonly string[];
  };

// Every key of every slice is a key of AppConfig: two slices may not both name one.
type Duplicated = {
  [N in SliceName]: {
    [M in Exclude<SliceName, N>]: keyof (typeof CONFIG_SCHEMA)[N] & keyof (typeof CONFIG_SCHEMA)[M];
  }[Exclude<SliceName, N>];
}[SliceName];
const noKeyInTwoSlices: [Duplicated] extends [never] ? true : Duplicated = true;
void noKeyInTwoSlices;

// 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach.
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Rules across variables, run in this order once every variable is read; `why` says why production's
 * rules apply (for a "required" message).
 */
export const CONFIG_CHECKS: ReadonlyArray<
  (config: Omit<AppConfig, 'developmentDefaults'>, rules: Rules, why: string) => void
> = [
  (config) => {
    if (config.authJwksUrl !== null && config.authIssuer === null) {
      throw new ConfigError('AUTH_ISSUER is required with AUTH_JWKS_URL');
    }
    if (config.authJwksUrl !== null && config.authAudience === null) {
      throw new ConfigError('AUTH_AUDIENCE is required with AUTH_JWKS_URL');
    }
  },
  // The identity provider's JWKS, service keys and/or the end users' shared secret: production needs one.
  (config, rules, why) => {
    if (
      rules.production &&
      config.authJwtSecret === null &&
      config.authJwksUrl === null &&
      config.authServiceKeys.length === 0
    ) {
      throw new ConfigError(
        `AUTH_JWKS_URL (with AUTH_ISSUER, AUTH_AUDIENCE), AUTH_SERVICE_KEYS or AUTH_JWT_SECRET is required${why}`,
      );
    }
  },
  // A service key that is also the end users' secret would let the user-token issuer sign as the service.
  (config) => {
    const shared = config.authServiceKeys.find((key) => key.secret === config.authJwtSecret);
    if (shared !== undefined) {
      throw new ConfigError(`AUTH_SERVICE_KEYS kid ${shared.kid} must not use AUTH_JWT_SECRET as its secret`);
    }
  },
  // The development secret is public: on any other interface, anyone on the network could sign an
  // admin token with it.
  (config) => {
    if (config.authJwtSecret === DEV_AUTH_JWT_SECRET && !isLoopback(config.host)) {
      throw new ConfigError(
        `HOST=${config.host} listens beyond this machine while tokens are signed with the public development secret: set AUTH_JWT_SECRET (or AUTH_JWKS_URL) or use HOST=127.0.0.1`,
      );
    }
  },
  // Development's Bluum is the sandbox, which serves only on a loopback HOST (sandboxEnabled).
  (config, rules) => {
    if (!rules.production && config.bluumBaseUrl === null && !isLoopback(config.host)) {
      throw new ConfigError(
        `HOST=${config.host} listens beyond this machine, where the built-in Bluum sandbox does not run: set BLUUM_BASE_URL or use HOST=127.0.0.1`,
      );
    }
  },
  // Each receiver signs with its own secret: one per URL, in the same order.
  (config) => {
    const secrets = config.webhookSecrets.length;
    const urls = config.webhookUrls.length;
    if (urls > 0 && secrets === 0) {
      throw new ConfigError('WEBHOOK_SECRET is required with WEBHOOK_URLS (one secret per URL)');
    }
    if (secrets !== urls) {
      throw new ConfigError(
        `WEBHOOK_SECRET has ${secrets} secret(s) but WEBHOOK_URLS has ` +
          `${urls} URL(s): give one secret per URL, comma-separated, in the same order`,
      );
    }
  },
];
