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

// A pg_snapshot as text; long lists of in-progress transactions are refused rather than carried.
const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20}){0,99})?$/;

function encodeCursor({ createdAt, id, snapshot }: PagePosition): string {
  const fields = [createdAt.toISOString(), id, ...(snapshot === undefined ? [] : [snapshot])];
  return Buffer.from(JSON.stringify(fields)).toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition {
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
  if (!Array.isArray(value) || value.length < 2 || value.length > 3) throw invalid();
  const [at, id, snapshot] = value as unknown[];
  const createdAt = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string' || !UUID_PATTERN.test(id)) throw invalid();
  if (snapshot === undefined) return { createdAt, id };
  if (typeof snapshot !== 'string' || !SNAPSHOT.test(snapshot)) throw invalid();
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
