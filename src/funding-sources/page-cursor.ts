// Opaque keyset cursors: the (createdAt, id) of the last row of a page, so that the next page starts
// strictly after it, and, for admin listings, the database snapshot of the first page, so that every
// page shows the rows visible then and no others (see the listing_snapshot migration).
import { AppError } from '../common/app-error';
import { UUID_PATTERN } from '../common/param-pipes';

export interface PagePosition {
  createdAt: Date;
  id: string;
  /** PostgreSQL's pg_snapshot of the listing's first page, as text (`xmin:xmax:xip,...`). */
  snapshot?: string;
}

// A pg_snapshot as text, as PostgreSQL writes it (no leading zeros); long lists of in-progress
// transactions are refused rather than carried.
const SNAPSHOT = /^([1-9]\d{0,19}):([1-9]\d{0,19}):((?:[1-9]\d{0,19})(?:,[1-9]\d{0,19}){0,99})?$/;
const MAX_XID8 = 2n ** 64n - 1n;
// A transaction id is its 64-bit form's low 32 bits (the high ones are the epoch); 0 is invalid.
const XID_MASK = 0xffff_ffffn;

// The times this API hands out are rows' created_at, written as toISOString() does with a four-digit
// year. A year outside 0001-9999 was never issued, and PostgreSQL may refuse it: JavaScript's dates
// reach ±275760, PostgreSQL's start in 4713 BC and have no year 0.
const ISSUED_AT = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function encodeCursor({ createdAt, id, snapshot }: PagePosition): string {
  const fields = [createdAt.toISOString(), id, ...(snapshot === undefined ? [] : [snapshot])];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

/**
 * True for a snapshot PostgreSQL's pg_snapshot input accepts, checked here so that a tampered one is a
 * 400 rather than the database's error: xmin and xmax valid (not 0 in their low 32 bits, at most
 * 2^64 - 1), xmin <= xmax, and the in-progress ids in [xmin, xmax), ascending, each once.
 */
export function isPgSnapshot(text: string): boolean {
  const match = SNAPSHOT.exec(text);
  if (match === null) return false;
  const [xmin, xmax] = [BigInt(match[1]), BigInt(match[2])];
  const valid = (xid: bigint): boolean => xid <= MAX_XID8 && (xid & XID_MASK) !== 0n;
  if (!valid(xmin) || !valid(xmax) || xmax < xmin) return false;
  let previous = xmin - 1n;
  for (const xip of match[3] === undefined ? [] : match[3].split(',').map(BigInt)) {
    if (xip <= previous || xip >= xmax) return false;
    previous = xip;
  }
  return true;
}

/**
 * The position a cursor names, or VALIDATION_FAILED on `cursor` for anything this API did not issue,
 * before any of it reaches a query. Only the admin funding-source listing's cursors carry a snapshot
 * (`withSnapshot`); the other listings refuse one.
 */
export function decodeCursor(cursor: string, { withSnapshot = false } = {}): PagePosition {
  const invalid = (): AppError =>
    new AppError('VALIDATION_FAILED', 'cursor is not a cursor this API issued', [
      { field: 'cursor', message: 'cursor is not a cursor this API issued' },
    ]);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(value) || value.length < 2 || value.length > (withSnapshot ? 3 : 2)) throw invalid();
  const [at, id, snapshot] = value as unknown[];
  if (typeof at !== 'string' || !ISSUED_AT.test(at)) throw invalid();
  const createdAt = new Date(at);
  // Round trip: 2026-02-30 parses (as March 2nd) but was never written.
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) throw invalid();
  if (typeof id !== 'string' || !UUID_PATTERN.test(id)) throw invalid();
  if (snapshot === undefined) return { createdAt, id };
  if (typeof snapshot !== 'string' || !isPgSnapshot(snapshot)) throw invalid();
  return { createdAt, id, snapshot };
}

/**
 * Cuts the `limit + 1` rows a repository returned into one page and the cursor of the next (null on the
 * last page): the extra row only says that another page follows.
 */
export function toPage<T>(
  rows: readonly T[],
  limit: number,
  positionOf: (row: T) => PagePosition,
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(positionOf(last)) : null,
  };
}
