// Opaque keyset cursors: the (createdAt, id) of the last row of a page, so that the next page starts
// strictly after it whatever is inserted meanwhile (new rows sort before it).
import { AppError } from '../common/app-error';
import { UUID_PATTERN } from '../common/param-pipes';

export interface PagePosition {
  createdAt: Date;
  id: string;
}

function encodeCursor(position: PagePosition): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.id])).toString('base64url');
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
  if (!Array.isArray(value) || value.length !== 2) throw invalid();
  const [at, id] = value as unknown[];
  const createdAt = typeof at === 'string' ? new Date(at) : new Date(Number.NaN);
  if (Number.isNaN(createdAt.getTime()) || typeof id !== 'string' || !UUID_PATTERN.test(id)) throw invalid();
  return { createdAt, id };
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
