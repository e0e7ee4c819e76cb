import { PrismaPg } from '@prisma/adapter-pg';
import { Pool, type PoolClient, type QueryResult } from 'pg';
import { markFromDatabase, READ_ONLY_SQLSTATE } from './database-errors';

const PG_NAME_OID = 19;
const PG_TEXT_OID = 25;

// prisma/orm#27403: Prisma's schema engine cannot read columns of PostgreSQL's `name` type through
// @prisma/adapter-pg. Reporting them as `text` (same wire format) lets `migrate deploy` work.
function relabelNameColumns<T extends QueryResult>(result: T): T {
  for (const field of result?.fields ?? []) {
    if (field.dataTypeID === PG_NAME_OID) field.dataTypeID = PG_TEXT_OID;
  }
  return result;
}

function patchQuery<Q extends Pool | PoolClient>(target: Q): Q {
  const original = target.query.bind(target) as (...args: unknown[]) => unknown;
  (target as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const out = original(...args);
    return out instanceof Promise ? out.then((r: QueryResult) => relabelNameColumns(r)) : out;
  };
  return target;
}

/** A pg pool for Prisma's migration engine, with the `name`-type workaround applied. */
export function createPgPool(connectionString: string): Pool {
  // allowExitOnIdle: the CLI exits when done instead of waiting out the idle timeout.
  const pool = patchQuery(new Pool({ connectionString, allowExitOnIdle: true }));
  pool.on('connect', (client) => {
    patchQuery(client);
  });
  return pool;
}

/**
 * The driver adapter `npm run db:migrate` runs on (prisma.config.ts). @prisma/adapter-pg 6.19 runs a
 * migration's script by cutting it at every `;` and sending the pieces one by one, which breaks a
 * statement with a `;` inside it (a DO $$ … $$ block, a string, a comment) and leaves a migration that
 * fails half applied. Here the script goes to PostgreSQL whole, in one simple-protocol query:
 * PostgreSQL parses it itself and runs it as one implicit transaction, as the embedded database's
 * applyMigrations runs each migration in a transaction of its own.
 */
export class MigrationPrismaPg extends PrismaPg {
  constructor(private readonly pool: Pool) {
    super(pool);
  }

  override async connect(): ReturnType<PrismaPg['connect']> {
    const adapter = await super.connect();
    // The adapter's own conversion of a pg error (protected in its types), so that the engine reports
    // PostgreSQL's message (a migration's RAISE EXCEPTION among them) as for any failed statement.
    const fail = (adapter as unknown as { onError(error: unknown): never }).onError.bind(adapter);
    adapter.executeScript = async (script: string): Promise<void> => {
      await this.pool.query(script).catch(fail);
    };
    return adapter;
  }
}

export interface BoundedPoolOptions {
  connectionString: string;
  max: number;
  /** Acquiring a connection (waiting for one, or opening one). */
  connectTimeoutMs: number;
  /** One statement, server side; the client gives up a little later (a frozen link never answers). */
  statementTimeoutMs: number;
  /** Told about connections that broke; never rethrown (an unhandled 'error' would end the process). */
  onConnectionError: (error: Error) => void;
}

// What the client waits beyond the server's statement_timeout before it decides the link is gone.
const CLIENT_GRACE_MS = 500;
// A row lock is never worth waiting long for: every transaction here is short.
const LOCK_TIMEOUT_MS = 2_000;

/**
 * A pg pool where every wait on the database is bounded: acquiring a connection, a statement (server
 * side), a lock, a transaction left idle (the server ends it), and the answer itself (client side, for a
 * link that froze: sockets open, nothing passes). A connection whose answer never came is destroyed, not
 * returned to the pool: its protocol state is unknown and every later query on it would wait forever.
 */
export function createBoundedPool(options: BoundedPoolOptions): Pool {
  const pool = new Pool({
    connectionString: options.connectionString,
    max: options.max,
    connectionTimeoutMillis: options.connectTimeoutMs,
    query_timeout: options.statementTimeoutMs + CLIENT_GRACE_MS,
    statement_timeout: options.statementTimeoutMs,
    lock_timeout: LOCK_TIMEOUT_MS,
    idle_in_transaction_session_timeout: Math.max(10_000, 2 * options.statementTimeoutMs),
    keepAlive: true,
  });
  markFailures(pool);
  pool.on('error', options.onConnectionError);
  // Released with an error (pool.query's own path): the pool will end it; on a frozen link a polite end
  // never completes, so the socket goes first.
  pool.on('release', (error: Error | undefined, client: PoolClient) => {
    if (error) destroyConnection(client);
  });
  pool.on('connect', (client) => {
    // A checked-out client that breaks between queries emits 'error'; without a listener it would crash.
    client.on('error', options.onConnectionError);
    // Failures are handled here, where they are seen, because Prisma's transactions cannot be told:
    // - an answer that timed out: the connection is destroyed (Prisma would hand it back as healthy);
    // - a COMMIT or ROLLBACK that failed (the connection broke mid-transaction): Prisma 6 then never
    //   releases it (it releases only after they succeed), so it is released here, as broken; otherwise
    //   the pool would count it forever and run dry after DATABASE_POOL_SIZE such failures.
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      const out = query(...args);
      if (!(out instanceof Promise)) return out;
      return out.catch((error: unknown) => {
        markFromDatabase(error);
        if (error instanceof Error && error.message === 'Query read timeout') destroyConnection(client);
        // A node that refuses writes or is going away (a failover): this connection keeps reaching it
        // (and keeps its read-only session) until it is dropped, so it is dropped now and the pool opens
        // a new one, which finds the new primary. pool.query's own path releases failed connections.
        if (endsWithFailover(error)) destroyConnection(client);
        if (endsTransaction(args[0])) releaseBroken(client, error);
        throw error;
      });
    };
  });
  return pool;
}

type AnyFunction = (...args: unknown[]) => unknown;

/**
 * What the pool's own query and connect throw (no connection in time, a connection refused) is marked as
 * the database's: only such errors may answer DATABASE_UNAVAILABLE (database-errors.ts). Both forms are
 * kept: pg-pool's query calls connect with a callback.
 */
function markFailures(pool: Pool): void {
  const target = pool as unknown as { query: AnyFunction; connect: AnyFunction };
  for (const method of ['query', 'connect'] as const) {
    const original: AnyFunction = target[method].bind(pool);
    target[method] = (...args: unknown[]) => {
      const last = args.length - 1;
      if (typeof args[last] === 'function') {
        const callback = args[last] as AnyFunction;
        args[last] = (error: unknown, ...rest: unknown[]) => callback(markFromDatabase(error), ...rest);
        return original(...args);
      }
      const out = original(...args);
      return out instanceof Promise
        ? out.catch((error: unknown) => {
            throw markFromDatabase(error);
          })
        : out;
    };
  }
}

function endsWithFailover(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    (code === READ_ONLY_SQLSTATE || code.startsWith('57P') || code.startsWith('08'))
  );
}

function endsTransaction(query: unknown): boolean {
  const text = typeof query === 'string' ? query : (query as { text?: unknown } | null)?.text;
  return text === 'COMMIT' || text === 'ROLLBACK';
}

function releaseBroken(client: PoolClient, error: unknown): void {
  destroyConnection(client);
  try {
    client.release(error instanceof Error ? error : new Error(String(error)));
  } catch {
    // Released already: nothing is held.
  }
}

// pg has no public way to drop a connection whose answer is overdue; ending its socket makes the client
// unqueryable, fails whatever still waits on it, and the pool discards it on release.
function destroyConnection(client: PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
