// The Prisma client, on PostgreSQL (DATABASE_URL) or, in development and tests, on embedded PGlite.
import type * as PGliteModule from '@electric-sql/pglite';
import type { PGlite } from '@electric-sql/pglite';
import type * as PGliteAdapterModule from 'pglite-prisma-adapter';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync } from 'node:fs';
import type { Pool } from 'pg';
import type { DatabaseConfig } from '../config/app-config';
import { DATABASE_CONFIG } from '../config/config.module';
import { PrismaClient } from '../generated/prisma/client';
import { isTransactionConflict, markFromDatabase } from './database-errors';
import type * as EmbeddedMigrations from './embedded-migrations';
import { createBoundedPool } from './pg-pool';

// Closing the pools at shutdown waits no longer than this.
const POOL_END_LIMIT_MS = 2_000;
// /health/ready answers within a second, whatever the database does.
const READY_LIMIT_MS = 800;
// How often readiness asks whether the database takes writes.
const WRITABLE_CHECK_MS = 1_000;

/** The client a transaction's work is given. */
export type Transaction = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

// Retries of a transaction PostgreSQL ended with a deadlock or serialization failure, and their pause.
const CONFLICT_RETRIES = 2;
const CONFLICT_PAUSE_MS = { min: 10, max: 60 };

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `work` again (at most CONFLICT_RETRIES times, after a random pause) while it meets a conflict. */
export async function retryConflicts<R>(
  work: () => Promise<R>,
  sleep: (ms: number) => Promise<void> = defaultSleep,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt >= CONFLICT_RETRIES || !isTransactionConflict(err)) throw err;
      const { min, max } = CONFLICT_PAUSE_MS;
      await sleep(min + Math.random() * (max - min));
    }
  }
}

/** DI token: an embedded database opened by the caller (tests running two instances on one), or null. */
export const SHARED_EMBEDDED_DATABASE = Symbol('SHARED_EMBEDDED_DATABASE');

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private readonly pglite: PGlite | null;
  private readonly ownsPglite: boolean;
  /** pg's pool for Prisma's adapter: every write and transaction (null on the embedded database). */
  readonly pool: Pool | null;
  /**
   * A pool of its own for the read path and readiness: however many writes queue for connections, the
   * deposit services' reads and the health check never wait behind them (null on the embedded database).
   */
  readonly readPool: Pool | null;

  constructor(
    @Inject(DATABASE_CONFIG) config: DatabaseConfig,
    @Inject(SHARED_EMBEDDED_DATABASE) shared: PGlite | null,
  ) {
    const pglite = config.databaseUrl === null ? (shared ?? openPglite(config.embeddedDatabaseDir)) : null;
    const logger = new Logger(PrismaService.name);
    // A connection that breaks is dropped by the pool; the request that used it answers 503.
    const onConnectionError = (error: Error) => logger.warn(`Database connection lost: ${error.message}`);
    const pool = (max: number) =>
      createBoundedPool({
        connectionString: config.databaseUrl as string,
        max,
        connectTimeoutMs: config.databaseConnectTimeoutMs,
        statementTimeoutMs: config.databaseStatementTimeoutMs,
        onConnectionError,
      });
    const writePool = pglite ? null : pool(config.databasePoolSize);
    super({
      // Interactive transactions are short (never around a Bluum call): bounded like everything else.
      // maxWait outlasts pg's own bounds on getting a connection and its BEGIN, so the bound a caller
      // meets is pg's (DATABASE_CONNECT_TIMEOUT_MS), whichever way the database is sick.
      transactionOptions: {
        maxWait: config.databaseConnectTimeoutMs + config.databaseStatementTimeoutMs + 1_000,
        timeout: 2 * config.databaseStatementTimeoutMs,
      },
      adapter: pglite
        ? // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10, whose ArgType differs from
          // 6.19's; it never reads argTypes, so the two are the same at run time.
          (new (embedded().PrismaPGlite)(pglite) as unknown as PrismaPg)
        : new PrismaPg(writePool as Pool),
    });
    this.pglite = pglite;
    this.ownsPglite = shared === null;
    this.pool = writePool;
    this.readPool = pglite ? null : pool(config.databaseReadPoolSize);
    this.pingTimeoutMs = Math.min(READY_LIMIT_MS, config.databaseConnectTimeoutMs);
  }

  private readonly pingTimeoutMs: number;

  /**
   * An interactive transaction. PostgreSQL may end one with a deadlock or a serialization failure when
   * it meets another; `work` (database work only, never a call to Bluum) is then run again, at most
   * twice, after a short random pause so the two do not meet again. Past that the error stands, and is
   * answered 503 DATABASE_UNAVAILABLE.
   */
  transaction<R>(work: (tx: Transaction) => Promise<R>): Promise<R> {
    return retryConflicts(() => this.$transaction(work));
  }

  /**
   * One parameterised statement straight on the driver (pg's pool, or PGlite), rows as the driver gives
   * them. For the read path deposit services call on every transfer, where the Prisma client's per-call
   * query planning cost more than the query; repositories only. `name` makes it a prepared statement on
   * PostgreSQL (one name, one text: the name is the statement's identity on every connection).
   */
  async queryRows<T>(text: string, values: readonly unknown[], name?: string): Promise<T[]> {
    try {
      if (this.pglite) return (await this.pglite.query<T>(text, [...values])).rows;
      // A named statement is parsed and planned once per connection, not on every call.
      return (await (this.readPool as Pool).query<T & object>({ name, text, values: [...values] })).rows;
    } catch (err) {
      throw markFromDatabase(err);
    }
  }

  /** True when the database answers a trivial query within the readiness limit, on the read pool. */
  async ping(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.pingTimeoutMs);
    });
    const query = this.queryRows('SELECT 1', []).then(
      () => true,
      () => false,
    );
    try {
      return await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * True unless the database refuses this instance's writes: a write-pool connection reports
   * `transaction_read_only` (a primary demoted by a failover, or a standby). Asked at most once a second;
   * a connection that answers "on" is discarded, so the pool's next one finds wherever the primary now is.
   * A pool too busy to answer in time, or a database that cannot be reached (the ping's to report), keeps
   * the last answer: busy is not read-only.
   */
  async canWrite(): Promise<boolean> {
    const pool = this.pool;
    if (pool === null) return true;
    const now = Date.now();
    if (now - this.writable.at < WRITABLE_CHECK_MS) return this.writable.value;
    this.writable.at = now;
    this.writable.pending ??= this.checkWritable(pool).finally(() => (this.writable.pending = undefined));
    return this.writable.pending;
  }

  private readonly writable: { at: number; value: boolean; pending?: Promise<boolean> } = {
    at: Number.NEGATIVE_INFINITY,
    value: true,
  };

  private async checkWritable(pool: Pool): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(this.writable.value), this.pingTimeoutMs);
    });
    const check = (async () => {
      const client = await pool.connect();
      let readOnly = true;
      try {
        const { rows } = await client.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
        readOnly = rows[0]?.transaction_read_only !== 'off';
      } finally {
        client.release(readOnly);
      }
      return !readOnly;
    })().then(
      (value) => (this.writable.value = value),
      // Unreachable is the ping's to report; only an answer says whether writes are refused.
      () => this.writable.value,
    );
    try {
      return await Promise.race([check, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onModuleInit(): Promise<void> {
    if (this.pglite) {
      const applied = await embedded().applyMigrations(this.pglite);
      this.logger.log(`Embedded PostgreSQL ready (${applied} migration(s) applied)`);
    }
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    // pool.end() waits for every checked-out connection; one that can never come back (a frozen link)
    // must not hold the shutdown, so the wait is bounded.
    await Promise.race([
      Promise.all([this.pool?.end(), this.readPool?.end()]),
      new Promise((resolve) => setTimeout(resolve, POOL_END_LIMIT_MS).unref()),
    ]);
    if (this.ownsPglite) await this.pglite?.close();
  }
}

// The embedded database's packages (and its migration runner) load only when it is used: production
// never pays their start-up time or memory.
function embedded(): {
  PGlite: typeof PGliteModule.PGlite;
  PrismaPGlite: typeof PGliteAdapterModule.PrismaPGlite;
  applyMigrations: typeof EmbeddedMigrations.applyMigrations;
} {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite } = require('@electric-sql/pglite') as typeof PGliteModule;
  const { PrismaPGlite } = require('pglite-prisma-adapter') as typeof PGliteAdapterModule;
  const { applyMigrations } = require('./embedded-migrations') as typeof EmbeddedMigrations;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { PGlite, PrismaPGlite, applyMigrations };
}

function openPglite(dir: string): PGlite {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  return new (embedded().PGlite)(dir);
}
