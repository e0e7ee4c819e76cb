// Controllers on Fastify, built as the app builds itself (src/http-pipeline.ts: the adapter's limits,
// the JSON parser, the request-id header, the validation pipe and the exception filter; AuthModule: the
// global guard on the configuration's secret), with their services replaced by strict fakes and no
// database, called over Fastify's own request injection. A route's tables of cases (bodies, path ids,
// queries, callers and tokens) are controller specs on it; e2e keeps a row of each to show the wiring.
import type { ModuleMetadata, Provider } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { OutgoingHttpHeaders } from 'node:http';
import { AuthModule } from '../../src/auth/auth.module';
import { registerBrowserEdges } from '../../src/common/browser-edges';
import { type AppConfig, loadConfig } from '../../src/config/app-config';
import { ConfigModule } from '../../src/config/config.module';
import { HTTP_CONFIG } from '../../src/config/config.module';
import { httpAdapter, useRequestPipeline } from '../../src/http-pipeline';
import { CallerRateLimit } from '../../src/rate-limit/caller-rate-limit';
import { CallerRateLimitGuard } from '../../src/rate-limit/caller-rate-limit.guard';
import type { RateLimitRepository } from '../../src/rate-limit/rate-limit.repository';
import { TEST_JWT_SECRET } from './tokens';

export interface ControllerAppOptions {
  controllers: NonNullable<ModuleMetadata['controllers']>;
  /** The controllers' services, as strict fakes (`strictFake`), and the guards and interceptors they use. */
  providers: Provider[];
  /** Overrides the defaults: NODE_ENV=test and the e2e JWT secret (tests/support/tokens.ts signs with it). */
  env?: Record<string, string>;
  /** Registers CORS and helmet's headers as the app does (src/common/browser-edges.ts). */
  browserEdges?: boolean;
}

export interface InjectOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface InjectedResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
  body: any;
}

export interface ControllerApp {
  app: NestFastifyApplication;
  config: AppConfig;
  request(method: string, url: string, options?: InjectOptions): Promise<InjectedResponse>;
  close(): Promise<void>;
}

/** RateLimitRepository's addHits, on one process's memory: what PostgreSQL would answer one instance. */
function inMemoryCounts(): Pick<RateLimitRepository, 'addHits'> {
  const totals = new Map<string, number>();
  return {
    addHits(window: Date, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
      const answer = new Map<string, number>();
      for (const [subject, count] of counts) {
        const key = `${window.getTime()}:${subject}`;
        totals.set(key, (totals.get(key) ?? 0) + count);
        answer.set(subject, totals.get(key) ?? 0);
      }
      return Promise.resolve(answer);
    },
  };
}

export async function startControllerApp(options: ControllerAppOptions): Promise<ControllerApp> {
  const config = loadConfig({ NODE_ENV: 'test', AUTH_JWT_SECRET: TEST_JWT_SECRET, ...options.env });
  const module = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(config), AuthModule],
    controllers: options.controllers,
    providers: [
      // Every @Route's caller budget, counted as one instance would, its shared count in memory.
      CallerRateLimitGuard,
      {
        provide: CallerRateLimit,
        inject: [HTTP_CONFIG],
        useFactory: (http: ConstructorParameters<typeof CallerRateLimit>[1]) =>
          new CallerRateLimit(inMemoryCounts() as unknown as RateLimitRepository, http),
      },
      ...options.providers,
    ],
  }).compile();
  const app = module.createNestApplication<NestFastifyApplication>(httpAdapter(config), {
    logger: false,
    bodyParser: false,
  });
  useRequestPipeline(app);
  if (options.browserEdges) await registerBrowserEdges(app, config);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();

  const request = async (
    method: string,
    url: string,
    { token, body, rawBody, headers = {} }: InjectOptions = {},
  ): Promise<InjectedResponse> => {
    const sent: Record<string, string> = { ...headers };
    if (token !== undefined) sent.authorization = `Bearer ${token}`;
    let payload = rawBody;
    if (payload === undefined && body !== undefined) {
      payload = JSON.stringify(body);
      sent['content-type'] ??= 'application/json';
    }
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: sent,
      ...(payload === undefined ? {} : { payload }),
    });
    let parsed: unknown = undefined;
    try {
      parsed = res.body ? JSON.parse(res.body) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text: res.body, body: parsed };
  };
  return { app, config, request, close: () => app.close() };
}

// What Nest reads on every provider to find its lifecycle hooks: absent on a fake, never a call.
const LIFECYCLE = new Set([
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
]);

/**
 * A strict fake of a provider: the methods given (jest.fn() for the spec to script and read), and a
 * failed test for any other method the code under test calls.
 */
export function strictFake<T extends object>(name: string, methods: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(methods as T, {
    get: (target, property) => {
      if (typeof property === 'symbol' || LIFECYCLE.has(property) || property === 'then') return undefined;
      if (property in target) return (target as Record<string, unknown>)[property];
      throw new Error(`unexpected call of ${name}.${property}`);
    },
  });
}
