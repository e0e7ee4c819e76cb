// Starts the real application (the same bootstrap as main.ts) on a free port for an e2e spec.
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes } from 'node:crypto';
import { type AppOptions, startApp } from '../../src/bootstrap';
import { loadConfig } from '../../src/config/app-config';
import { PrismaService } from '../../src/database/prisma.service';
import { openEmbeddedDatabase } from './embedded-template';
import { bluumAccountIdFor, GENERATION } from './generation';
import { adminToken, TEST_JWT_SECRET } from './tokens';

export interface TestApp {
  app: NestFastifyApplication;
  url: string;
  prisma: PrismaService;
  /** fetch against the app, JSON in and out. */
  request(method: string, path: string, options?: RequestOptions): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, instead of JSON.stringify(body). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read arbitrary fields
  body: any;
}

/**
 * `env` overrides the test defaults: NODE_ENV=test, PostgreSQL from TEST_DATABASE_URL (else embedded
 * in memory), the built-in sandbox as Bluum, the e2e JWT secret, and no reconciliation sweep.
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  options: AppOptions = {},
): Promise<TestApp> {
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'fatal',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    // The reconciliation sweep calls Bluum on its own: only the specs about it turn it on.
    RECONCILE_INTERVAL_SECONDS: '0',
    // The generation this run speaks (./generation.ts); a spec's own env may still choose one.
    BLUUM_API_VERSION: GENERATION,
    ...env,
  });
  // An embedded database of the app's own, loaded from the run's migrated template.
  const embedded =
    config.databaseUrl === null && options.sharedEmbeddedDatabase === undefined
      ? await openEmbeddedDatabase()
      : undefined;
  const { app, url } = await startApp(
    {
      ...config,
      embeddedDatabaseDir: config.databaseUrl === null ? 'memory://' : config.embeddedDatabaseDir,
    },
    '127.0.0.1',
    { ...options, ...(embedded ? { sharedEmbeddedDatabase: embedded } : {}) },
  );
  const request = async (
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<TestResponse> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined = options.rawBody;
    if (body === undefined && options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, headers: response.headers, text, body: parsed };
  };
  const close = async (): Promise<void> => {
    await app.close();
    await embedded?.close();
  };
  return { app, url, prisma: app.get(PrismaService), request, close };
}

/** A user id no other test uses, so specs never depend on each other's data. */
export function uniqueUserId(prefix = 'user'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** Registers a user under a fresh Bluum account id; returns both. */
export async function registerUser(
  app: TestApp,
  userId = uniqueUserId(),
): Promise<{ userId: string; bluumAccountId: string }> {
  const bluumAccountId = bluumAccountIdFor();
  const response = await app.request('PUT', `/v1/users/${userId}`, {
    token: adminToken(),
    body: { bluumAccountId },
  });
  if (response.status !== 201)
    throw new Error(`registering ${userId} failed: ${response.status} ${response.text}`);
  return { userId, bluumAccountId };
}

/** A public token the sandbox has never seen. */
export function sandboxPublicToken(): string {
  return `public-sandbox-${randomBytes(12).toString('hex')}`;
}

/** How many items and bank accounts the database holds for a user. */
export async function countStored(
  app: TestApp,
  userId: string,
): Promise<{ items: number; accounts: number }> {
  return {
    items: await app.prisma.plaidItem.count({ where: { userId } }),
    accounts: await app.prisma.bankAccount.count({ where: { userId } }),
  };
}

/**
 * Runs `burst` until it ran within one rate-limit window, and returns what it returned. The counters
 * use one-minute windows on the database's clock, and a burst that straddles a window's edge is counted
 * in two: such a burst is run again (`burst` makes its own fresh user) rather than waiting for the next
 * minute to begin.
 */
export async function withinOneRateWindow<T>(app: TestApp, burst: () => Promise<T>): Promise<T> {
  const window = async (): Promise<number> => {
    const [row] = await app.prisma.$queryRaw<{ start: Date }[]>`SELECT date_trunc('minute', now()) AS start`;
    return row.start.getTime();
  };
  for (let attempt = 1; ; attempt++) {
    const before = await window();
    const result = await burst();
    // Two edges a minute apart cannot both fall inside one short burst.
    if ((await window()) === before || attempt === 2) return result;
  }
}
