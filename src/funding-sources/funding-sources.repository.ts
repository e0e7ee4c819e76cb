import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Actor, Caller } from '../auth/caller';
import { PrismaService, type Transaction } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import { webhookEventType } from '../webhooks/webhook-events';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import {
  type FundingSource,
  type FundingSourceEventType,
  type FundingSourceRecord,
  type FundingSourceStatus,
  type LinkedItem,
  type LinkedItemRecord,
  toConnectResponse,
  toFundingSource,
} from './funding-source';
import {
  type AccountState,
  accountChanges,
  type Change,
  type ChangeVia,
  disconnectChanges,
  eventRows,
  findDuplicateItem,
  type ItemToStore,
  markDuplicateLinks,
  planDisconnect,
  planSync,
  syncCounts,
} from './reconcile';

// Queries and transactions only. The rules they apply (statuses, what a sync keeps, what counts as a
// change, what a disconnect does next) are the pure functions of reconcile.ts; the service turns these
// methods' tagged results into the contract's errors.

/** Where a public token stands: this caller now owns its exchange, another is exchanging it, or it is done. */
export type PublicTokenClaim =
  { state: 'claimed' } | { state: 'pending' } | { state: 'completed'; userId: string; response: unknown };

/** Why a write for a user was refused before anything changed. */
export type UserLockFailure = { kind: 'user-not-found' } | { kind: 'bluum-account-changed' };

/** `duplicateOfItemId`: an active item of the user's that the one just stored duplicates (findDuplicateItem). */
export type SaveLinkedItemResult =
  | { kind: 'saved'; linked: LinkedItem; duplicateOfItemId: string | null }
  | UserLockFailure
  | { kind: 'item-of-another-user' };

/** A stored item with every account of it (disconnected ones too), as duplicate detection reads it. */
export interface ItemWithFundingSources {
  itemId: string;
  institutionId: string | null;
  status: FundingSourceStatus;
  fundingSources: FundingSourceRecord[];
}

export type SyncItemsResult =
  { kind: 'synced'; added: number; updated: number; skipped: string[] } | UserLockFailure;

/** Where a disconnect stands after its first step. */
export type DisconnectStart =
  | { kind: 'not-found' }
  | { kind: 'disconnected'; record: FundingSourceRecord }
  | { kind: 'in-progress' }
  | { kind: 'leased'; item: { id: string; itemId: string; bluumFundingSourceId: string | null } };

const EVENT_SELECT = {
  id: true,
  type: true,
  fundingSourceId: true,
  actor: true,
  requestId: true,
  at: true,
  details: true,
} as const satisfies Prisma.FundingSourceEventSelect;

/** An audit event as stored. */
export type FundingSourceEventRow = Omit<
  Prisma.FundingSourceEventGetPayload<{ select: typeof EVENT_SELECT }>,
  'type' | 'actor' | 'details'
> & { type: FundingSourceEventType; actor: Actor; details: Record<string, unknown> };

/**
 * The item's fields every account of it carries (bank_accounts' own columns of the same names), so that
 * the read path reads bank_accounts alone. Whatever writes one of these on plaid_items writes the
 * accounts' copies in the same transaction; today that is upsertItem alone.
 */
const ITEM_COPIES = {
  itemId: true,
  institutionId: true,
  institutionName: true,
  bluumFundingSourceId: true,
} as const satisfies Prisma.PlaidItemSelect & Prisma.BankAccountSelect;

type ItemCopies = Prisma.BankAccountGetPayload<{ select: typeof ITEM_COPIES }>;

function itemCopies({
  itemId,
  institutionId,
  institutionName,
  bluumFundingSourceId,
}: ItemCopies): ItemCopies {
  return { itemId, institutionId, institutionName, bluumFundingSourceId };
}

// The columns a FundingSource needs, and nothing else: all of them the account's own, its item's fields
// included (the copies upsertItem keeps equal to the item's).
const FUNDING_SOURCE_SELECT = {
  id: true,
  userId: true,
  status: true,
  accountId: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  ...ITEM_COPIES,
  createdAt: true,
  updatedAt: true,
} as const satisfies Prisma.BankAccountSelect;

type FundingSourceRow = Prisma.BankAccountGetPayload<{ select: typeof FUNDING_SOURCE_SELECT }>;

function toRecord({ name, type, subtype, ...account }: FundingSourceRow): FundingSourceRecord {
  return { ...account, accountName: name, accountType: type, accountSubtype: subtype };
}

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
const isoTime = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const FUNDING_SOURCE_JSON: { readonly [K in keyof FundingSource]-?: string } = {
  id: 'a.id',
  userId: 'a.user_id',
  status: 'a.status',
  institutionId: 'a.institution_id',
  institutionName: 'a.institution_name',
  accountName: 'a.name',
  accountType: 'a.type',
  accountSubtype: 'a.subtype',
  mask: 'a.mask',
  itemId: 'a.item_id',
  accountId: 'a.account_id',
  bluumFundingSourceId: 'a.bluum_funding_source_id',
  plaidOptions: "json_build_object('item_id', a.item_id, 'account_id', a.account_id)",
  createdAt: isoTime('a.created_at'),
  updatedAt: isoTime('a.updated_at'),
};
const SELECT_FUNDING_SOURCE_JSON = `SELECT json_build_object(${Object.entries(FUNDING_SOURCE_JSON)
  .map(([field, value]) => `'${field}', ${value}`)
  .join(', ')})::text AS "json" FROM bank_accounts a`;
// Prepared once per connection (PrismaService.queryRows): their names are their identity, so a change
// of a text must keep its name unique to it.
const LIST_JSON = {
  name: 'funding_sources_list_json_v1',
  text: `${SELECT_FUNDING_SOURCE_JSON}
    WHERE a.user_id = $1 AND a.status = ANY($2::"FundingSourceStatus"[])
    ORDER BY a.created_at DESC, a.id DESC`,
};
const GET_JSON = {
  name: 'funding_sources_get_json_v1',
  text: `${SELECT_FUNDING_SOURCE_JSON} WHERE a.id = $1::uuid AND a.user_id = $2`,
};

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

@Injectable()
export class FundingSourcesRepository {
  constructor(
    private readonly prisma: PrismaService,
    private readonly outbox: WebhookOutbox,
  ) {}

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

  /** One page of a user's audit trail, newest first (ties by id), after `after` when given. */
  async listEvents(
    userId: string,
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<FundingSourceEventRow[]> {
    const rows = await this.prisma.fundingSourceEvent.findMany({
      where: {
        userId,
        ...(after
          ? { OR: [{ at: { lt: after.createdAt } }, { at: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
      select: EVENT_SELECT,
    });
    // Only eventRows writes these columns: one of the event types, an Actor, an object of details.
    return rows.map((row) => ({
      ...row,
      type: row.type as FundingSourceEventType,
      actor: row.actor as unknown as Actor,
      details: row.details as Record<string, unknown>,
    }));
  }

  /** The user's active items at `institutionId`, oldest first, each with every account of it. */
  async activeItemsAtInstitution(userId: string, institutionId: string): Promise<ItemWithFundingSources[]> {
    return activeItemsAt(this.prisma, userId, institutionId);
  }

  /**
   * Claims the exchange of a public token (by its SHA-256) for this caller. The primary key settles
   * races between requests and instances; a claim older than `staleBefore` was abandoned (its process
   * died mid-call) and is taken over.
   */
  async claimPublicToken(
    tokenHash: string,
    userId: string,
    staleBefore: Date,
  ): Promise<PublicTokenClaim | null> {
    const now = new Date();
    const { count } = await this.prisma.publicTokenExchange.createMany({
      data: { tokenHash, userId, claimedAt: now },
      skipDuplicates: true,
    });
    if (count === 1) return { state: 'claimed' };
    const takeover = await this.prisma.publicTokenExchange.updateMany({
      where: { tokenHash, completedAt: null, claimedAt: { lt: staleBefore } },
      data: { userId, claimedAt: now },
    });
    if (takeover.count === 1) return { state: 'claimed' };
    const row = await this.prisma.publicTokenExchange.findUnique({ where: { tokenHash } });
    // null: released between our two statements; the caller tries again.
    if (!row) return null;
    return row.completedAt
      ? { state: 'completed', userId: row.userId, response: row.response }
      : { state: 'pending' };
  }

  /** Gives up a claim whose exchange failed, so that the token can be tried again. */
  async releasePublicToken(tokenHash: string): Promise<void> {
    await this.prisma.publicTokenExchange.deleteMany({ where: { tokenHash, completedAt: null } });
  }

  /**
   * Stores an item Bluum linked under `bluumAccountId`, with every account of it, in one transaction,
   * writes the audit events, and completes the public token's exchange in the same transaction with the
   * connect response, so a replay answers exactly what this request answers. An item already stored
   * (same itemId) is updated in place, never duplicated; nothing is written when refused. A new item
   * that duplicates an active one of the user's (findDuplicateItem, judged with the user locked) is
   * stored all the same, and its `linked` events name the item it duplicates.
   */
  async saveLinkedItem(
    userId: string,
    bluumAccountId: string,
    toStore: ItemToStore,
    exchange: { tokenHash: string; caller: Caller },
  ): Promise<SaveLinkedItemResult> {
    return this.prisma.transaction(async (tx): Promise<SaveLinkedItemResult> => {
      const refused = await lockUser(tx, userId, bluumAccountId);
      if (refused) return refused;
      const owner = await tx.plaidItem.findUnique({
        where: { itemId: toStore.itemId },
        select: { userId: true },
      });
      if (owner && owner.userId !== userId) return { kind: 'item-of-another-user' };
      const before = await accountStates(tx, { userId, itemId: toStore.itemId });
      const duplicateOf =
        toStore.institutionId === null
          ? null
          : findDuplicateItem(toStore, await activeItemsAt(tx, userId, toStore.institutionId));
      const duplicateOfItemId = duplicateOf?.itemId ?? null;
      const { item, accountIds } = await upsertItem(tx, userId, toStore);
      const after = await accountStates(tx, { id: { in: accountIds } });
      const rows = await tx.bankAccount.findMany({
        where: { id: { in: accountIds } },
        select: FUNDING_SOURCE_SELECT,
      });
      const byId = new Map(rows.map((row) => [row.id, toRecord(row)]));
      const changes = markDuplicateLinks(accountChanges(before, after), duplicateOfItemId);
      await recordEvents(tx, this.outbox, userId, changes, 'connect', exchange.caller, byId);
      // In Bluum's account order, which is the order the user saw in Plaid Link.
      const linked: LinkedItem = {
        item,
        fundingSources: accountIds.map((id) => byId.get(id) as FundingSourceRecord),
      };
      const response: object = toConnectResponse(linked);
      await tx.publicTokenExchange.update({
        where: { tokenHash: exchange.tokenHash },
        data: { response, completedAt: new Date() },
      });
      return { kind: 'saved', linked, duplicateOfItemId };
    });
  }

  /**
   * Step 1 of a disconnect, one short transaction with the item locked: reads what `planDisconnect`
   * needs and does what it decides (answer as is, disconnect the account here, or record the intent as
   * a lease on the item for `lease.durationMs`, judged on the database's clock).
   */
  async beginDisconnect(
    userId: string,
    id: string,
    lease: { id: string; durationMs: number },
    caller: Caller,
  ): Promise<DisconnectStart> {
    return this.prisma.transaction(async (tx): Promise<DisconnectStart> => {
      const target = await tx.bankAccount.findFirst({
        where: { id, userId },
        select: { plaidItemId: true },
      });
      if (!target) return { kind: 'not-found' };
      // The database's clock, not this instance's: every instance judges a lease by the same clock. The
      // ids Bluum is called with are the item's own, read under its lock (the account's are copies).
      const [item] = await tx.$queryRaw<
        { leased: boolean; item_id: string; bluum_funding_source_id: string | null }[]
      >`
        SELECT coalesce(disconnect_lease_until > now(), false) AS leased, item_id, bluum_funding_source_id
          FROM plaid_items WHERE id = ${target.plaidItemId}::uuid FOR UPDATE`;
      // Deleted since: its accounts went with it (ON DELETE CASCADE).
      if (!item) return { kind: 'not-found' };
      const current = await tx.bankAccount.findUniqueOrThrow({
        where: { id },
        select: FUNDING_SOURCE_SELECT,
      });
      const otherActiveAccounts = await tx.bankAccount.count({
        where: { plaidItemId: target.plaidItemId, id: { not: id }, status: { not: 'disconnected' } },
      });
      switch (planDisconnect({ status: current.status, otherActiveAccounts, leaseHeld: item.leased })) {
        case 'already-disconnected':
          return { kind: 'disconnected', record: toRecord(current) };
        case 'disconnect-account': {
          const changes = disconnectChanges([{ id, from: current.status }], false);
          return {
            kind: 'disconnected',
            record: await markDisconnected(tx, this.outbox, userId, changes, id, caller),
          };
        }
        case 'wait':
          return { kind: 'in-progress' };
        case 'lease':
          await tx.$executeRaw`
            UPDATE plaid_items
               SET disconnect_lease_id = ${lease.id}::uuid,
                   disconnect_lease_until = now() + ${lease.durationMs} * interval '1 millisecond'
             WHERE id = ${target.plaidItemId}::uuid`;
          return {
            kind: 'leased',
            item: {
              id: target.plaidItemId,
              itemId: item.item_id,
              bluumFundingSourceId: item.bluum_funding_source_id,
            },
          };
      }
    });
  }

  /**
   * Step 3 of a disconnect, after Bluum disconnected the item: the item and every account of it still
   * active here are disconnected, the lease cleared (whoever holds it: Bluum's answer is the truth), the
   * audit events written. Returns the funding source `id`. A holder whose lease was taken over after it
   * expired may finish second: it then finds nothing left to change.
   */
  async finishDisconnect(
    userId: string,
    id: string,
    plaidItemId: string,
    caller: Caller,
  ): Promise<FundingSourceRecord> {
    return this.prisma.transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM plaid_items WHERE id = ${plaidItemId}::uuid FOR UPDATE`;
      await tx.plaidItem.update({
        where: { id: plaidItemId },
        data: { status: 'disconnected', disconnectLeaseId: null, disconnectLeaseUntil: null },
      });
      const open = await tx.bankAccount.findMany({
        where: { plaidItemId, status: { not: 'disconnected' } },
        select: { id: true, status: true },
      });
      const changes = disconnectChanges(
        open.map((account) => ({ id: account.id, from: account.status })),
        true,
      );
      return markDisconnected(tx, this.outbox, userId, changes, id, caller);
    });
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

  /** Gives up a disconnect lease that Bluum's call did not complete; only its holder's. */
  async releaseDisconnect(plaidItemId: string, leaseId: string): Promise<void> {
    await this.prisma.plaidItem.updateMany({
      where: { id: plaidItemId, disconnectLeaseId: leaseId },
      data: { disconnectLeaseId: null, disconnectLeaseUntil: null },
    });
  }

  /**
   * Brings the user's stored items in line with Bluum's list, in one transaction with the user locked,
   * by `planSync`'s rules (adds what is missing, takes Bluum's fields and statuses, keeps local
   * disconnects, leaves other users' items alone), and writes the audit events, saying `via` what
   * (a user's sync, or the reconciliation sweep).
   */
  async syncItems(
    userId: string,
    bluumAccountId: string,
    bluumItems: Parameters<typeof planSync>[1],
    caller: Caller,
    via: Extract<ChangeVia, 'sync' | 'reconcile'> = 'sync',
  ): Promise<SyncItemsResult> {
    return this.prisma.transaction(async (tx): Promise<SyncItemsResult> => {
      const refused = await lockUser(tx, userId, bluumAccountId);
      if (refused) return refused;
      const owners = await tx.plaidItem.findMany({
        where: { itemId: { in: bluumItems.map((i) => i.itemId) } },
        select: { itemId: true, userId: true },
      });
      const before = await accountStates(tx, { userId });
      const plan = planSync(
        userId,
        bluumItems,
        new Map(owners.map((owner) => [owner.itemId, owner.userId])),
        before,
      );
      const touched: string[] = [];
      for (const item of plan.store) touched.push(...(await upsertItem(tx, userId, item)).accountIds);
      // Bluum's list is the outcome of any disconnect whose lease expired (its process died mid-call):
      // the statuses just taken settle it, so the intent is cleared.
      await tx.$executeRaw`
        UPDATE plaid_items SET disconnect_lease_id = NULL, disconnect_lease_until = NULL
         WHERE user_id = ${userId} AND disconnect_lease_until <= now()`;
      const changes = accountChanges(before, await accountStates(tx, { id: { in: touched } }));
      await recordEvents(tx, this.outbox, userId, changes, via, caller);
      return { kind: 'synced', ...syncCounts(changes), skipped: plan.skipped };
    });
  }
}

type Tx = Transaction;

// Locks the user so its Bluum account cannot change under us (see UsersRepository.upsert).
async function lockUser(tx: Tx, userId: string, bluumAccountId: string): Promise<UserLockFailure | null> {
  const [user] = await tx.$queryRaw<{ bluum_account_id: string }[]>`
    SELECT bluum_account_id FROM users WHERE id = ${userId} FOR UPDATE`;
  if (!user) return { kind: 'user-not-found' };
  return user.bluum_account_id === bluumAccountId ? null : { kind: 'bluum-account-changed' };
}

async function activeItemsAt(
  db: Pick<Tx, 'plaidItem'>,
  userId: string,
  institutionId: string,
): Promise<ItemWithFundingSources[]> {
  const order = [
    { createdAt: 'asc' },
    { id: 'asc' },
  ] as const satisfies Prisma.PlaidItemOrderByWithRelationInput[];
  const items = await db.plaidItem.findMany({
    where: { userId, institutionId, status: 'active' },
    orderBy: [...order],
    select: {
      itemId: true,
      institutionId: true,
      status: true,
      accounts: { select: FUNDING_SOURCE_SELECT, orderBy: [...order] },
    },
  });
  return items.map(({ accounts, ...item }) => ({ ...item, fundingSources: accounts.map(toRecord) }));
}

// The item's fields as the account carries them (ITEM_COPIES): what the read path shows is what a
// change is judged on.
const ACCOUNT_STATE_SELECT = {
  id: true,
  accountId: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  status: true,
  ...ITEM_COPIES,
} as const satisfies Prisma.BankAccountSelect;

async function accountStates(tx: Tx, where: Prisma.BankAccountWhereInput): Promise<AccountState[]> {
  return tx.bankAccount.findMany({ where, select: ACCOUNT_STATE_SELECT });
}

/**
 * Writes the audit events of a change and, for those deposit services are told of, the outbox's
 * deliveries, in the change's own transaction: an event exists exactly when its change committed. The
 * audit event's id is the delivery's `webhook-id`. Call it after the change, so the events carry the
 * funding sources as they now are.
 */
async function recordEvents(
  tx: Tx,
  outbox: WebhookOutbox,
  userId: string,
  changes: Change[],
  via: ChangeVia,
  caller: Caller,
  current?: ReadonlyMap<string, FundingSourceRecord>,
): Promise<void> {
  if (changes.length === 0) return;
  const rows = eventRows(userId, changes, via, caller).map((row) => ({ id: randomUUID(), ...row }));
  await tx.fundingSourceEvent.createMany({
    data: rows.map((row) => ({
      ...row,
      actor: { ...row.actor },
      details: row.details as Prisma.InputJsonObject,
    })),
  });
  if (!outbox.enabled) return;
  const published = rows.flatMap((row) => {
    const type = webhookEventType(row.type);
    return type === null ? [] : [{ eventId: row.id, type, fundingSourceId: row.fundingSourceId }];
  });
  if (published.length === 0) return;
  // What the caller has just read, or the funding sources as the change left them.
  const byId =
    current ??
    new Map(
      (
        await tx.bankAccount.findMany({
          where: { id: { in: published.map((event) => event.fundingSourceId) } },
          select: FUNDING_SOURCE_SELECT,
        })
      ).map((row) => [row.id, toRecord(row)]),
    );
  const sequences = await nextEventSequences(
    tx,
    published.map((event) => event.fundingSourceId),
  );
  const at = new Date();
  await outbox.enqueue(
    tx,
    published.map(({ fundingSourceId, ...event }, index) => ({
      ...event,
      at,
      sequence: sequences[index],
      fundingSource: toFundingSource(byId.get(fundingSourceId) as FundingSourceRecord),
    })),
  );
}

/**
 * The next `sequence` of each event's funding source, in the events' order (one funding source may have
 * several). The counter is bumped on the funding source's own row in the change's transaction: a change
 * of the same funding source on any instance waits for that row lock, so sequences only grow in the
 * order changes commit (and the outbox rows they write queue in that order too).
 */
async function nextEventSequences(tx: Tx, fundingSourceIds: readonly string[]): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const id of fundingSourceIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const bumped = await tx.$queryRaw<{ id: string; last: number }[]>`
    UPDATE bank_accounts b SET event_sequence = b.event_sequence + c.n
      FROM unnest(${[...counts.keys()]}::uuid[], ${[...counts.values()]}::int[]) AS c(id, n)
     WHERE b.id = c.id
    RETURNING b.id::text AS id, b.event_sequence AS last`;
  // The last sequence handed out so far, per funding source; each event takes the next one.
  const given = new Map(bumped.map(({ id, last }) => [id, last - (counts.get(id) as number)]));
  return fundingSourceIds.map((id) => {
    const sequence = (given.get(id) as number) + 1;
    given.set(id, sequence);
    return sequence;
  });
}

/** Applies disconnect `changes` with their events, and returns the funding source `returnId`. */
async function markDisconnected(
  tx: Tx,
  outbox: WebhookOutbox,
  userId: string,
  changes: Change[],
  returnId: string,
  caller: Caller,
): Promise<FundingSourceRecord> {
  if (changes.length > 0) {
    await tx.bankAccount.updateMany({
      where: { id: { in: changes.map((change) => change.fundingSourceId) } },
      data: { status: 'disconnected' },
    });
    await recordEvents(tx, outbox, userId, changes, 'disconnect', caller);
  }
  return toRecord(
    await tx.bankAccount.findUniqueOrThrow({ where: { id: returnId }, select: FUNDING_SOURCE_SELECT }),
  );
}

/**
 * Creates or updates an item (by itemId) and each of its accounts (by accountId), writing only what
 * differs from what is stored: a sync or reconciliation sweep that finds nothing new writes nothing,
 * so `updatedAt` moves only when a funding source changed (and the sweep is not a write of every row).
 * Every account of the item, those Bluum no longer lists too, carries the item's copied fields
 * (ITEM_COPIES), written in this same transaction whenever they differ from the item's.
 */
async function upsertItem(
  tx: Tx,
  userId: string,
  { accounts, itemId, ...itemFields }: ItemToStore,
): Promise<{ item: LinkedItemRecord; accountIds: string[] }> {
  const itemSelect = {
    id: true,
    itemId: true,
    institutionId: true,
    institutionName: true,
    bluumFundingSourceId: true,
    status: true,
  } as const satisfies Prisma.PlaidItemSelect;
  const stored = await tx.plaidItem.findUnique({
    where: { itemId },
    select: {
      ...itemSelect,
      accounts: {
        select: {
          id: true,
          accountId: true,
          name: true,
          type: true,
          subtype: true,
          mask: true,
          status: true,
          ...ITEM_COPIES,
        },
      },
    },
  });
  const item =
    stored === null
      ? await tx.plaidItem.create({ data: { userId, itemId, ...itemFields }, select: itemSelect })
      : differs(stored, itemFields)
        ? await tx.plaidItem.update({ where: { id: stored.id }, data: itemFields, select: itemSelect })
        : stored;
  if (stored?.institutionName !== item.institutionName) {
    await tx.institutionName.createMany({ data: { name: item.institutionName }, skipDuplicates: true });
  }
  const copies = itemCopies(item);
  // Judged on the accounts themselves, not on whether the item changed: an account whose copies fell
  // behind (written by a version that did not keep them all) is brought in line by the next sync.
  const behind = (stored?.accounts ?? []).filter((account) => differs(itemCopies(account), copies));
  if (behind.length > 0) {
    await tx.bankAccount.updateMany({
      where: { id: { in: behind.map((account) => account.id) } },
      data: copies,
    });
  }
  const storedAccounts = new Map((stored?.accounts ?? []).map((account) => [account.accountId, account]));
  const accountIds: string[] = [];
  for (const { accountId, ...accountFields } of accounts) {
    const current = storedAccounts.get(accountId);
    if (current === undefined) {
      const created = await tx.bankAccount.create({
        data: { plaidItemId: item.id, userId, accountId, ...accountFields, ...copies },
        select: { id: true },
      });
      accountIds.push(created.id);
      continue;
    }
    if (differs(current, accountFields)) {
      await tx.bankAccount.update({ where: { id: current.id }, data: accountFields });
    }
    accountIds.push(current.id);
  }
  const { itemId: storedItemId, institutionId, institutionName, status } = item;
  return { item: { itemId: storedItemId, institutionId, institutionName, status }, accountIds };
}

/** Whether any of `wanted`'s fields is not what `stored` holds. */
function differs<T extends object>(stored: T, wanted: Partial<T>): boolean {
  return (Object.keys(wanted) as (keyof T)[]).some((key) => stored[key] !== wanted[key]);
}
