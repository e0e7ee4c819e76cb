import { type DynamicModule, Global, Module } from '@nestjs/common';
import { type AppConfig, configSlice } from './app-config';
import { SLICE_NAMES, type SliceName } from './config-schema';

/**
 * DI tokens, one per slice of config-schema.ts: a provider injects the slice it needs (its type is
 * `XConfig` from app-config.ts), never the whole configuration.
 */
export const RUNTIME_CONFIG = Symbol('RUNTIME_CONFIG');
export const HTTP_CONFIG = Symbol('HTTP_CONFIG');
export const DATABASE_CONFIG = Symbol('DATABASE_CONFIG');
export const BLUUM_CONFIG = Symbol('BLUUM_CONFIG');
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');
export const JOBS_CONFIG = Symbol('JOBS_CONFIG');
export const WEBHOOKS_CONFIG = Symbol('WEBHOOKS_CONFIG');

const TOKENS: Readonly<Record<SliceName, symbol>> = {
  runtime: RUNTIME_CONFIG,
  http: HTTP_CONFIG,
  database: DATABASE_CONFIG,
  bluum: BLUUM_CONFIG,
  auth: AUTH_CONFIG,
  jobs: JOBS_CONFIG,
  webhooks: WEBHOOKS_CONFIG,
};

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    const providers = SLICE_NAMES.map((name) => ({
      provide: TOKENS[name],
      useValue: configSlice(config, name),
    }));
    return {
      module: ConfigModule,
      providers,
      exports: providers.map((provider) => provider.provide),
    };
  }
}
