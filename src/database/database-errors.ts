// Which failures mean "the database is away, slow or out of connections" (503, worth retrying) rather
// than a bug (500). They reach us from pg directly (the read path), from pg-pool, and wrapped by Prisma's
// driver adapter and client, so the whole cause chain is read. Only errors that come from one of those
// count: an HTTP body the client aborted fails with ECONNRESET too, and must not raise (or hide) a
// database-outage alert.

/** "cannot execute … in a read-only transaction". */
export const READ_ONLY_SQLSTATE = '25006';
/** Deadlock detected, could not serialize access: the transaction may simply be run again. */
export const CONFLICT_SQLSTATES: readonly string[] = ['40P01', '40001'];

// PostgreSQL SQLSTATEs: the server is shutting down, too busy, cancelled a statement that ran too long
// or waited too long for a lock, ended an idle transaction, or the connection itself failed (class 08);
// it refuses writes (25006: a primary demoted by a failover, or a standby); a deadlock or serialization
// failure that its retries did not get past (40P01, 40001).
const UNAVAILABLE_SQLSTATES = new Set([
  '57014',
  '55P03',
  '25P03',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53400',
  READ_ONLY_SQLSTATE,
  ...CONFLICT_SQLSTATES,
]);
// Prisma's codes for the same: cannot reach, timed out, server closed the connection, no connection
// from the pool in time, a transaction that could not start or outlived its limit, a write conflict or
// deadlock (P2034) its retries did not get past.
const UNAVAILABLE_PRISMA_CODES = new Set([
  'P2034',
  'P1001',
  'P1002',
  'P1008',
  'P1017',
  'P1018',
  'P2024',
  'P2028',
  'P2037',
]);
// Prisma's driver-adapter error kinds for a connection that failed.
const UNAVAILABLE_ADAPTER_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
]);
const UNAVAILABLE_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
// pg and pg-pool say these in words only; Prisma's raw queries wrap the adapter's kinds in words too
// ("Raw query failed. Code: `N/A`. Message: `Server has closed the connection.`").
const UNAVAILABLE_MESSAGES = [
  'Server has closed the connection',
  "Can't reach database server",
  'Operation has timed out',
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'Cannot use a pool after calling end on the pool',
  'Transaction already closed',
  'Unable to start a transaction in the given time',
];

const MAX_VISITS = 16;

// Set on what pg, its pools and PGlite throw, where this service calls them (pg-pool.ts, PrismaService).
const FROM_DATABASE = Symbol('fromDatabase');

/** Marks `err` as thrown by the database driver (pg, pg-pool, PGlite); returns it. */
export function markFromDatabase<T>(err: T): T {
  if (typeof err === 'object' && err !== null && !Object.isFrozen(err)) {
    (err as Record<symbol, unknown>)[FROM_DATABASE] = true;
  }
  return err;
}

function comesFromDatabase(fields: Record<string | symbol, unknown>): boolean {
  if (fields[FROM_DATABASE] === true) return true;
  // Prisma's own errors (PrismaClientKnownRequestError and its kin carry clientVersion) and its driver
  // adapter's.
  const name = typeof fields.name === 'string' ? fields.name : '';
  return (
    typeof fields.clientVersion === 'string' ||
    name.startsWith('PrismaClient') ||
    name === 'DriverAdapterError'
  );
}

export function isDatabaseUnavailable(err: unknown): boolean {
  return fromDatabaseAnd(err, saysUnavailable);
}

/** A deadlock or serialization failure: the transaction may be run again as it was. */
export function isTransactionConflict(err: unknown): boolean {
  return fromDatabaseAnd(err, (fields) => {
    const code = fields.originalCode ?? fields.code;
    // P2034: Prisma's "write conflict or a deadlock" for its model queries.
    return code === 'P2034' || (typeof code === 'string' && CONFLICT_SQLSTATES.includes(code));
  });
}

/**
 * True for a unique violation (PostgreSQL's 23505, Prisma's P2002, the driver adapter's
 * UniqueConstraintViolation), however Prisma wrapped it: a race that the unique index settled, which a
 * repository turns into a tagged result rather than a 500.
 */
export function isUniqueViolation(err: unknown): boolean {
  return fromDatabaseAnd(
    err,
    (fields) =>
      fields.code === 'P2002' ||
      fields.code === '23505' ||
      fields.originalCode === '23505' ||
      fields.kind === 'UniqueConstraintViolation',
  );
}

/**
 * True when something in `err`'s chain came from the database and something in it (the same error or
 * another) `says` so. The chain: the error, its causes, and what Prisma keeps of the driver's error (raw
 * queries put it in meta.driverAdapterError, whose cause holds the SQLSTATE), breadth first, bounded.
 */
function fromDatabaseAnd(err: unknown, says: (fields: Record<string, unknown>) => boolean): boolean {
  const queue: unknown[] = [err];
  let fromDatabase = false;
  let said = false;
  for (let visits = 0; visits < MAX_VISITS && queue.length > 0; visits++) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null) continue;
    const fields = current as Record<string | symbol, unknown>;
    fromDatabase ||= comesFromDatabase(fields);
    said ||= says(fields);
    if (fromDatabase && said) return true;
    queue.push(fields.cause);
    const meta = fields.meta as Record<string, unknown> | undefined;
    if (typeof meta === 'object' && meta !== null) queue.push(meta.driverAdapterError);
  }
  return false;
}

function saysUnavailable(fields: Record<string, unknown>): boolean {
  const code = typeof fields.code === 'string' ? fields.code : undefined;
  if (code !== undefined) {
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
    if (UNAVAILABLE_PRISMA_CODES.has(code) || UNAVAILABLE_SOCKET_CODES.has(code)) return true;
  }
  if (typeof fields.originalCode === 'string' && UNAVAILABLE_SQLSTATES.has(fields.originalCode)) return true;
  if (typeof fields.kind === 'string' && UNAVAILABLE_ADAPTER_KINDS.has(fields.kind)) return true;
  const message = typeof fields.message === 'string' ? fields.message : '';
  return UNAVAILABLE_MESSAGES.some((known) => message.includes(known));
}
