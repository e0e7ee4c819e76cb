// Which failures mean "the database is away, slow or out of connections" (503, worth retrying) rather
// than a bug (500). They reach us from pg directly (the read path), from pg-pool, and wrapped by Prisma's
// driver adapter and client, so the whole cause chain is read.

// PostgreSQL SQLSTATEs: the server is shutting down, too busy, cancelled a statement that ran too long
// or waited too long for a lock, ended an idle transaction, or the connection itself failed (class 08).
const UNAVAILABLE_SQLSTATES = new Set([
  '57014',
  '55P03',
  '25P03',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '53400',
]);
// Prisma's codes for the same: cannot reach, timed out, server closed the connection, no connection
// from the pool in time, a transaction that could not start or outlived its limit.
const UNAVAILABLE_PRISMA_CODES = new Set([
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

export function isDatabaseUnavailable(err: unknown): boolean {
  return anyInChain(err, saysUnavailable);
}

/**
 * True for a unique violation (PostgreSQL's 23505, Prisma's P2002, the driver adapter's
 * UniqueConstraintViolation), however Prisma wrapped it: a race that the unique index settled, which a
 * repository turns into a tagged result rather than a 500.
 */
export function isUniqueViolation(err: unknown): boolean {
  return anyInChain(
    err,
    (fields) =>
      fields.code === 'P2002' ||
      fields.code === '23505' ||
      fields.originalCode === '23505' ||
      fields.kind === 'UniqueConstraintViolation',
  );
}

// The error, its causes, and what Prisma keeps of the driver's error (raw queries put it in
// meta.driverAdapterError, whose cause holds the SQLSTATE): breadth first, bounded.
function anyInChain(err: unknown, test: (fields: Record<string, unknown>) => boolean): boolean {
  const queue: unknown[] = [err];
  for (let visits = 0; visits < MAX_VISITS && queue.length > 0; visits++) {
    const current = queue.shift();
    if (typeof current !== 'object' || current === null) continue;
    const fields = current as Record<string, unknown>;
    if (test(fields)) return true;
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
