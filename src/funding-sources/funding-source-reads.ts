import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { PrismaService } from '../database/prisma.service';
import type { FundingSource, FundingSourceRecord, FundingSourceStatus } from './funding-source';

// The funding sources' reads, as the routes run them: numbered SQL on pg's read pool
// (PrismaService.queryRows), no model API, no transaction. The writes and the audit trail have
// repositories of their own (funding-source-writes.ts, funding-source-events.ts).

// The deposit services' read path (list and get) is one hand-written query of bank_accounts alone, run
// straight on the driver: one index range scan (or primary-key lookup), no join, since each account
// carries its item's fields. Through the model API, Prisma 6's query compiler planned the select anew
// on every call (a quarter of the CPU per request); `npm run bench` has the figures. Its aliases come
// from this map, which the type checker holds to FundingSourceRecord's fields, one for one; a medium
// spec checks with EXPLAIN that no other table is read.
const FUNDING_SOURCE_COLUMNS: { readonly [K in keyof FundingSourceRecord]-?: `a.${string}` } = {
  id: 'a.id',
  userId: 'a.user_id',
  status: 'a.status::text',
  institutionId: 'a.institution_id',
  institutionName: 'a.institution_name',
  accountName: 'a.name',
  accountType: 'a.type',
  accountSubtype: 'a.subtype',
  mask: 'a.mask',
  itemId: 'a.item_id',
  accountId: 'a.account_id',
  bluumFundingSourceId: 'a.bluum_funding_source_id',
  transferBy: 'a.transfer_by',
  createdAt: 'a.created_at',
  updatedAt: 'a.updated_at',
};
const SELECT_FUNDING_SOURCE = `SELECT ${Object.entries(FUNDING_SOURCE_COLUMNS)
  .map(([field, column]) => `${column} AS "${field}"`)
  .join(', ')}`;
const FUNDING_SOURCE_SQL = `${SELECT_FUNDING_SOURCE} FROM bank_accounts a`;

// The two routes deposit services call on every transfer (list and get) answer JSON that PostgreSQL
// renders, one text per funding source, in the API's shape: the service joins the texts and sends them
// as they are. No row is parsed into objects, no timestamp into a Date, nothing is serialized again:
// that work was most of the route's own CPU and garbage (`npm run bench`). The keys are held to the
// API's `FundingSource` one for one by the type checker; a medium spec holds the values to
// `toFundingSource` of the stored record. Times are ISO 8601 in UTC with milliseconds (what the
// timestamptz(3) columns keep), as Date#toISOString writes them.
const isoTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
// As toFundingSource: a row transfers by plaid_options (its accountId is Plaid's) or by funding_source_id
// (no Plaid account id: accountId and plaidOptions are null).
const { createdAt, updatedAt, transferBy, accountId, bluumFundingSourceId, ...ACCOUNT_COLUMNS } =
  FUNDING_SOURCE_COLUMNS;
const BY_PLAID = `${transferBy} = 'plaid_options'`;
const PLAID_OPTIONS = `json_build_object('item_id', a.item_id, 'account_id', ${accountId})`;
const FUNDING_SOURCE_JSON: { readonly [K in keyof FundingSource]-?: string } = {
  ...ACCOUNT_COLUMNS,
  accountId: `CASE WHEN ${BY_PLAID} THEN ${accountId} END`,
  bluumFundingSourceId,
  plaidOptions: `CASE WHEN ${BY_PLAID} THEN ${PLAID_OPTIONS} END`,
  transferOptions: `CASE WHEN ${BY_PLAID} THEN json_build_object('plaid_options', ${PLAID_OPTIONS}) ELSE json_build_object('funding_source_id', coalesce(${bluumFundingSourceId}, ${accountId})) END`,
  createdAt: isoTime(createdAt),
  updatedAt: isoTime(updatedAt),
};
const SELECT_FUNDING_SOURCE_JSON = `SELECT json_build_object(${Object.entries(FUNDING_SOURCE_JSON)
  .map(([field, value]) => `'${field}', ${value}`)
  .join(', ')})::text AS "json" FROM bank_accounts a`;
// The statuses arrive as text[]: the embedded database (PGlite) cannot send a parameter of an array type
// its session learned of after it opened (the enum's, made by a migration at first start) and would
// send "active,error". Prepared once per connection (PrismaService.queryRows). pg refuses one name for two texts on a
// connection, so the name is taken from the text itself: an edited statement is a new one.
const prepared = (text: string) => ({
  name: `fs_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`,
  text,
});
const LIST_JSON = prepared(`${SELECT_FUNDING_SOURCE_JSON}
    WHERE a.user_id = $1 AND a.status = ANY($2::text[]::"FundingSourceStatus"[])
    ORDER BY a.created_at DESC, a.id DESC`);
const GET_JSON = prepared(`${SELECT_FUNDING_SOURCE_JSON} WHERE a.id = $1::uuid AND a.user_id = $2`);

/**
 * `value` as literal text inside a LIKE pattern: unescaped, `%` and `_` would be wildcards
 * (`institution=%25` would match every row) and `\` would escape the next character. Backslash is
 * PostgreSQL's default LIKE escape character.
 */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** What an admin listing may filter on; `status` absent means every status. */
export interface AdminListFilter {
  userId?: string;
  institution?: string;
  status?: FundingSourceStatus;
  limit: number;
  /** Where the previous page ended, and the snapshot of the listing's first page when known. */
  after?: { createdAt: Date; id: string; snapshot?: string };
}

/**
 * The admin listing's statement. Each shape walks an index in the keyset order (created_at DESC, id
 * DESC) and stops after `limit` rows, so a page costs the same at a thousand rows or millions:
 * - a user's: (user_id, created_at, id), the rest filtered on that user's few rows;
 * - by institution: the names containing the text are found in the small institution_names table, then
 *   each name's range of (institution_name[, status], created_at, id) is walked, `limit` rows at most each;
 * - otherwise: (status, created_at, id) or (created_at, id).
 * A medium spec checks the plans with EXPLAIN.
 */
export function adminListQuery(filter: AdminListFilter): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  const where: string[] = [];
  if (filter.userId !== undefined) where.push(`a.user_id = ${param(filter.userId)}`);
  if (filter.status !== undefined) where.push(`a.status = ${param(filter.status)}::"FundingSourceStatus"`);
  if (filter.after !== undefined) {
    const at = param(filter.after.createdAt);
    where.push(`(a.created_at, a.id) < (${at}::timestamptz, ${param(filter.after.id)}::uuid)`);
    // Rows committed after the first page was read belong to the next listing, wherever they sort.
    if (filter.after.snapshot !== undefined) {
      where.push(`pg_visible_in_snapshot(a.inserted_xid, ${param(filter.after.snapshot)}::pg_snapshot)`);
    }
  }
  const contains =
    filter.institution === undefined ? undefined : param(`%${escapeLike(filter.institution)}%`);
  const limit = param(filter.limit);
  const order = 'ORDER BY a.created_at DESC, a.id DESC';
  // A listing's first page also reads its statement's snapshot, for the cursors that follow.
  const select =
    filter.after?.snapshot === undefined
      ? `${SELECT_FUNDING_SOURCE}, pg_current_snapshot()::text AS "snapshot"`
      : SELECT_FUNDING_SOURCE;
  if (contains !== undefined && filter.userId === undefined) {
    const text = `${select}
      FROM institution_names n
      CROSS JOIN LATERAL (
        SELECT * FROM bank_accounts a
         WHERE ${['a.institution_name = n.name', ...where].join(' AND ')}
         ${order} LIMIT ${limit}) a
      WHERE n.name ILIKE ${contains}
      ${order} LIMIT ${limit}`;
    return { text, values };
  }
  if (contains !== undefined) where.push(`a.institution_name ILIKE ${contains}`);
  const text = `${select} FROM bank_accounts a
    ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
    ${order} LIMIT ${limit}`;
  return { text, values };
}

/** What the read routes and the admin listing read. */
@Injectable()
export class FundingSourceReads {
  constructor(private readonly prisma: PrismaService) {}

  /** The user's funding sources with one of `statuses`, newest first. */
  async listByUser(userId: string, statuses: readonly FundingSourceStatus[]): Promise<FundingSourceRecord[]> {
    const placeholders = statuses.map((_, index) => `$${index + 2}`).join(', ');
    return this.prisma.queryRows<FundingSourceRecord>(
      `${FUNDING_SOURCE_SQL}
        WHERE a.user_id = $1 AND a.status::text IN (${placeholders})
        ORDER BY a.created_at DESC, a.id DESC`,
      [userId, ...statuses],
    );
  }

  /**
   * One page of every user's funding sources, newest first (ties by id), after `after` when given, with
   * the snapshot every later page of the same listing is read in: the first page's own, read by the
   * same statement (none when that page is empty: no page follows it).
   */
  async listPage(
    filter: AdminListFilter,
  ): Promise<{ rows: FundingSourceRecord[]; snapshot: string | undefined }> {
    const { text, values } = adminListQuery(filter);
    const rows = await this.prisma.queryRows<FundingSourceRecord & { snapshot?: string }>(text, values);
    return {
      rows: rows.map(({ snapshot: _, ...record }) => record),
      snapshot: filter.after?.snapshot ?? rows[0]?.snapshot,
    };
  }

  /** As listByUser, each funding source as the API's JSON text (see FUNDING_SOURCE_JSON). */
  async listJsonByUser(userId: string, statuses: readonly FundingSourceStatus[]): Promise<string[]> {
    const rows = await this.prisma.queryRows<{ json: string }>(
      LIST_JSON.text,
      [userId, statuses],
      LIST_JSON.name,
    );
    return rows.map((row) => row.json);
  }

  /** The user's funding source `id` as the API's JSON text (see FUNDING_SOURCE_JSON), or null. */
  async findJsonForUser(userId: string, id: string): Promise<string | null> {
    const rows = await this.prisma.queryRows<{ json: string }>(GET_JSON.text, [id, userId], GET_JSON.name);
    return rows[0]?.json ?? null;
  }

  /** Whether the item of the user's funding source `id` holds an unexpired disconnect lease (a plain read). */
  async disconnectInProgress(userId: string, id: string): Promise<boolean> {
    const [row] = await this.prisma.queryRows<{ leased: boolean }>(
      `SELECT coalesce(i.disconnect_lease_until > now(), false) AS leased
         FROM bank_accounts a JOIN plaid_items i ON i.id = a.plaid_item_id
        WHERE a.id = $1::uuid AND a.user_id = $2`,
      [id, userId],
    );
    return row?.leased ?? false;
  }
}
