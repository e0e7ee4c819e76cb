// Builds the configuration from the environment by walking the table in config-schema.ts, once at boot.
import {
  type AppConfig,
  CONFIG_CHECKS,
  CONFIG_SCHEMA,
  ConfigError,
  type ConfigSlice,
  type Derived,
  type NodeEnv,
  parseNodeEnv,
  type Rules,
  SLICE_NAMES,
  type SliceName,
  type Variable,
} from './config-schema';

export {
  type AppConfig,
  type AuthConfig,
  type BluumConfig,
  ConfigError,
  type DatabaseConfig,
  DEV_AUTH_JWT_SECRET,
  DEV_BLUUM_API_KEY,
  DEV_BLUUM_API_SECRET,
  type HttpConfig,
  type JobsConfig,
  LOG_LEVELS,
  type LogLevel,
  type NodeEnv,
  type RuntimeConfig,
  type WebhooksConfig,
} from './config-schema';

type Env = Readonly<Record<string, string | undefined>>;
type Entry = Variable<unknown> | Derived<unknown>;

function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Every entry of the table, in its order. */
function entries(): Array<[key: string, entry: Entry]> {
  return SLICE_NAMES.flatMap((slice) => Object.entries(CONFIG_SCHEMA[slice]) as Array<[string, Entry]>);
}

/** Every variable of the table, in its order. */
export function configVariables(): Variable<unknown>[] {
  return entries()
    .map(([, entry]) => entry)
    .filter((entry): entry is Variable<unknown> => entry.kind === 'variable');
}

function defaultOf(
  entry: Variable<unknown>,
  rules: Rules,
  earlier: Readonly<Record<string, unknown>>,
): unknown {
  const fallback = entry.default;
  // No value of the table is a function: a function is how a default depends on the rules.
  return typeof fallback === 'function'
    ? (fallback as (rules: Rules, earlier: Readonly<Record<string, unknown>>) => unknown)(rules, earlier)
    : fallback;
}

/**
 * Builds the configuration from an environment, or throws a ConfigError whose message names the
 * offending variable (never its value when it is a secret).
 */
export function loadConfig(env: Env): AppConfig {
  const { nodeEnv: nodeEnvVariable } = CONFIG_SCHEMA.runtime;
  const nodeEnvRaw = read(env, nodeEnvVariable.env);
  // Fail closed: development defaults only when asked for (NODE_ENV=development|test) or when nothing at
  // all is configured (a fresh checkout). A deployment that sets some of its settings but not NODE_ENV is
  // held to production's requirements and runs as production.
  const deploymentSettings = configVariables()
    .filter((variable) => variable.deployment && read(env, variable.env) !== undefined)
    .map((variable) => variable.env);
  const nodeEnv: NodeEnv =
    nodeEnvRaw === undefined
      ? deploymentSettings.length > 0
        ? 'production'
        : 'development'
      : parseNodeEnv(nodeEnvRaw, nodeEnvVariable.env);
  const rules: Rules = { nodeEnv, production: nodeEnv === 'production' };
  const why =
    nodeEnvRaw === undefined
      ? ` (NODE_ENV is not set and ${deploymentSettings[0]} is: set NODE_ENV=development for development defaults)`
      : ' when NODE_ENV=production';

  const values: Record<string, unknown> = {};
  const developmentDefaults: string[] = [];
  const all = entries();
  for (const [key, entry] of all) {
    if (entry.kind !== 'variable') continue;
    const raw = read(env, entry.env);
    if (raw !== undefined) {
      values[key] = entry.parse(raw, entry.env, rules);
    } else if (!rules.production && entry.developmentDefault !== undefined) {
      developmentDefaults.push(entry.env);
      values[key] = entry.developmentDefault;
    } else if (entry.default !== undefined) {
      values[key] = defaultOf(entry, rules, values);
    } else {
      throw new ConfigError(`${entry.env} is required${why}`);
    }
  }
  for (const [key, entry] of all) {
    if (entry.kind === 'derived') values[key] = entry.derive(values, rules);
  }
  const config = { ...values, developmentDefaults } as unknown as AppConfig;
  for (const check of CONFIG_CHECKS) check(config, rules, why);
  return config;
}

/**
 * The values of one slice, taken from the whole: what its providers are given (config.module.ts), and
 * what a spec gives a provider it builds, so the spec fails if the provider reads past its slice.
 */
export function configSlice<N extends SliceName>(config: AppConfig, name: N): ConfigSlice<N> {
  const keys = Object.keys(CONFIG_SCHEMA[name]) as Array<keyof AppConfig>;
  return Object.freeze(Object.fromEntries(keys.map((key) => [key, config[key]]))) as ConfigSlice<N>;
}
