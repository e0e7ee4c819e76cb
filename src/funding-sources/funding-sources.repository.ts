import { Injectable } from '@nestjs/common';
import type { BluumItem, BluumItemStatus } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { PrismaService } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import { currentAudit } from '../logging/request-context';
import type { FundingSourceStatus } from './dto/funding-source.dto';
import type { FundingSourceRecord, LinkedItemRecord } from './funding-source.record';

/** Where a public token stands: this caller now owns its exchange, another is exchanging it, or it is done. */
export type PublicTokenClaim =
  { state: 'claimed' } | { state: 'pending' } | { state: 'completed'; userId: string; response: unknown };

/** Where a disconnect stands after its first step. */
export type DisconnectStart =
  | { kind: 'not-found' }
  | { kind: 'disconnected'; record: FundingSourceRecord }
  | { kind: 'in-progress' }
  | { kind: 'leased'; item: { id: string; itemId: string; bluumFundingSourceId: string | null } };

export interface LinkedItem {
  item: LinkedItemRecord;
  fundingSources: FundingSourceRecord[];
}

const STATUS_FROM_BLUUM: Record<BluumItemStatus, FundingSourceStatus> = {
  ACTIVE: 'active',
  ERROR: 'error',
  DISCONNECTED: 'disconnected',
};

// The columns a FundingSource needs, and nothing else.
const FUNDING_SOURCE_SELECT = {
  id: true,
  userId: true,
  status: true,
  accountId: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  createdAt: true,
  updatedAt: true,
  item: { select: { itemId: true, institutionId: true, institutionName: true, bluumFundingSourceId: true } },
} as const;

interface SelectedRow {
  id: string;
  userId: string;
  status: FundingSourceStatus;
  accountId: string;
  name: string;
  type: string;
  subtype: string | null;
  mask: string;
  createdAt: Date;
  updatedAt: Date;
  item: {
    itemId: string;
    institutionId: string | null;
    institutionName: string;
    bluumFundingSourceId: string | null;
  };
}

function toRecord(row: SelectedRow): FundingSourceRecord {
  return {
    id: row.id,
    userId: row.userId,
    status: row.status,
    institutionId: row.item.institutionId,
    institutionName: row.item.institutionName,
    accountName: row.name,
    accountType: row.type,
    accountSubtype: row.subtype,
    mask: row.mask,
    itemId: row.item.itemId,
    accountId: row.accountId,
    bluumFundingSourceId: row.item.bluumFundingSourceId,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

// The deposit services' read path (list and get) is one hand-written JOIN run straight on the driver.
// Through the model API, Prisma 6's query compiler planned the nested select anew on every call (a
// quarter of the CPU per request) and sent two queries; `npm run bench` has the figures.
const FUNDING_SOURCE_SQL = `
  SELECT a.id, a.user_id AS "userId", a.status::text AS status, i.institution_id AS "institutionId",
         i.institution_name AS "institutionName", a.name AS "accountName", a.type AS "accountType",
         a.subtype AS "accountSubtype", a.mask, i.item_id AS "itemId", a.account_id AS "accountId",
         i.bluum_funding_source_id AS "bluumFundingSourceId", a.created_at AS "createdAt",
         a.updated_at AS "updatedAt"
    FROM bank_accounts a
    JOIN plaid_items i ON i.id = a.plaid_item_id`;

/**
 * `value` as literal text inside a LIKE pattern. Prisma's `contains` wraps the value in `%…%` for ILIKE
 * without escaping, so `%` and `_` would be wildcards (`institution=%25` matched every row) and `\` would
 * escape the next character. Backslash is PostgreSQL's default LIKE escape character.
 */
export function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (c) => `\\${c}`);
}

@Injectable()
export class FundingSourcesRepository {
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

  /** One page of every user's funding sources, newest first (ties by id), after `after` when given. */
  async listPage(filter: {
    userId?: string;
    institution?: string;
    statuses: readonly FundingSourceStatus[];
    limit: number;
    after?: { createdAt: Date; id: string };
  }): Promise<FundingSourceRecord[]> {
    const rows = await this.prisma.bankAccount.findMany({
      where: {
        userId: filter.userId,
        status: { in: [...filter.statuses] },
        ...(filter.institution
          ? {
              item: {
                institutionName: { contains: escapeLike(filter.institution), mode: 'insensitive' as const },
              },
            }
          : {}),
        ...(filter.after
          ? {
              OR: [
                { createdAt: { lt: filter.after.createdAt } },
                { createdAt: filter.after.createdAt, id: { lt: filter.after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit,
      select: FUNDING_SOURCE_SELECT,
    });
    return rows.map(toRecord);
  }

  /** One page of a user's audit trail, newest first (ties by id), after `after` when given. */
  async listEvents(
    userId: string,
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<
    {
      id: string;
      type: string;
      fundingSourceId: string;
      actor: unknown;
      requestId: string | null;
      at: Date;
      details: unknown;
    }[]
  > {
    return this.prisma.fundingSourceEvent.findMany({
      where: {
        userId,
        ...(after
          ? { OR: [{ at: { lt: after.createdAt } }, { at: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
      select: {
        id: true,
        type: true,
        fundingSourceId: true,
        actor: true,
        requestId: true,
        at: true,
        details: true,
      },
    });
  }

  async findForUser(userId: string, id: string): Promise<FundingSourceRecord | null> {
    const rows = await this.prisma.queryRows<FundingSourceRecord>(
      `${FUNDING_SOURCE_SQL} WHERE a.id = $1::uuid AND a.user_id = $2`,
      [id, userId],
    );
    return rows[0] ?? null;
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
   * and completes the public token's exchange in the same transaction with the response `respond`
   * builds. An item already stored (same itemId) is updated in place, never duplicated.
   */
  async saveLinkedItem(
    userId: string,
    bluumAccountId: string,
    bluumItem: BluumItem,
    exchange: { tokenHash: string; respond: (linked: LinkedItem) => object },
  ): Promise<LinkedItem> {
    return this.prisma.$transaction(async (tx) => {
      await lockUser(tx, userId, bluumAccountId);
      const owner = await tx.plaidItem.findUnique({
        where: { itemId: bluumItem.itemId },
        select: { userId: true },
      });
      if (owner && owner.userId !== userId) {
        throw new AppError(
          'ITEM_LINKED_TO_ANOTHER_USER',
          'This bank link is already stored for another user.',
        );
      }
      const before = await accountStates(tx, { userId, item: { itemId: bluumItem.itemId } });
      const { item, accountIds } = await upsertItem(tx, userId, bluumItem);
      const after = await tx.bankAccount.findMany({
        where: { id: { in: accountIds } },
        select: ACCOUNT_STATE_SELECT,
      });
      await recordEvents(tx, userId, changes(before, after), { via: 'connect' });
      const rows = await tx.bankAccount.findMany({
        where: { id: { in: accountIds } },
        select: FUNDING_SOURCE_SELECT,
      });
      // In Bluum's account order, which is the order the user saw in Plaid Link.
      const byId = new Map(rows.map((row) => [row.id, toRecord(row)]));
      const linked: LinkedItem = {
        item,
        fundingSources: accountIds.map((id) => byId.get(id) as FundingSourceRecord),
      };
      await tx.publicTokenExchange.update({
        where: { tokenHash: exchange.tokenHash },
        data: { response: exchange.respond(linked), completedAt: new Date() },
      });
      return linked;
    });
  }

  /**
   * Step 1 of a disconnect, one short transaction with the item locked. An account already disconnected
   * is returned as is; one that is not its item's last active account is disconnected here and now; for
   * the last one, the item must be disconnected at Bluum first, so this records the intent (a lease for
   * `lease.durationMs` from now) unless another request holds an unexpired one.
   */
  async beginDisconnect(
    userId: string,
    id: string,
    lease: { id: string; durationMs: number },
  ): Promise<DisconnectStart> {
    return this.prisma.$transaction(async (tx) => {
      const target = await tx.bankAccount.findFirst({
        where: { id, userId },
        select: { plaidItemId: true },
      });
      if (!target) return { kind: 'not-found' };
      // The database's clock, not this instance's: every instance judges a lease by the same clock.
      const [item] = await tx.$queryRaw<{ leased: boolean }[]>`
        SELECT coalesce(disconnect_lease_until > now(), false) AS leased
          FROM plaid_items WHERE id = ${target.plaidItemId}::uuid FOR UPDATE`;
      const current = await tx.bankAccount.findUniqueOrThrow({
        where: { id },
        select: FUNDING_SOURCE_SELECT,
      });
      // Disconnecting twice is harmless.
      if (current.status === 'disconnected') return { kind: 'disconnected', record: toRecord(current) };
      const stillActive = await tx.bankAccount.count({
        where: { plaidItemId: target.plaidItemId, id: { not: id }, status: { not: 'disconnected' } },
      });
      if (stillActive > 0) {
        const record = await markDisconnected(tx, userId, [{ id, from: current.status }], false, id);
        return { kind: 'disconnected', record };
      }
      if (item?.leased) return { kind: 'in-progress' };
      await tx.$executeRaw`
        UPDATE plaid_items
           SET disconnect_lease_id = ${lease.id}::uuid,
               disconnect_lease_until = now() + ${lease.durationMs} * interval '1 millisecond'
         WHERE id = ${target.plaidItemId}::uuid`;
      return {
        kind: 'leased',
        item: {
          id: target.plaidItemId,
          itemId: current.item.itemId,
          bluumFundingSourceId: current.item.bluumFundingSourceId,
        },
      };
    });
  }

  /**
   * Step 3 of a disconnect, after Bluum disconnected the item: the item and every account of it still
   * active here are disconnected, the lease cleared (whoever holds it: Bluum's answer is the truth), the
   * audit events written. Returns the funding source `id`. A holder whose lease was taken over after it
   * expired may finish second: it then finds nothing left to change.
   */
  async finishDisconnect(userId: string, id: string, plaidItemId: string): Promise<FundingSourceRecord> {
    return this.prisma.$transaction(async (tx) => {
      await tx.$queryRaw`SELECT id FROM plaid_items WHERE id = ${plaidItemId}::uuid FOR UPDATE`;
      await tx.plaidItem.update({
        where: { id: plaidItemId },
        data: { status: 'disconnected', disconnectLeaseId: null, disconnectLeaseUntil: null },
      });
      const open = await tx.bankAccount.findMany({
        where: { plaidItemId, status: { not: 'disconnected' } },
        select: { id: true, status: true },
      });
      return markDisconnected(
        tx,
        userId,
        open.map((account) => ({ id: account.id, from: account.status })),
        true,
        id,
      );
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
   * Brings the user's stored items in line with Bluum's list, in one transaction: adds what is missing
   * (a connect whose reply was lost), takes Bluum's fields and statuses, never duplicates. Items stored
   * for another user are left alone. Returns how many accounts were added and how many changed.
   */
  async syncItems(
    userId: string,
    bluumAccountId: string,
    bluumItems: readonly BluumItem[],
  ): Promise<{ added: number; updated: number; skipped: string[] }> {
    return this.prisma.$transaction(async (tx) => {
      await lockUser(tx, userId, bluumAccountId);
      const owners = await tx.plaidItem.findMany({
        where: { itemId: { in: bluumItems.map((i) => i.itemId) } },
        select: { itemId: true, userId: true },
      });
      const foreign = new Set(owners.filter((o) => o.userId !== userId).map((o) => o.itemId));
      const before = await accountStates(tx, { userId });
      const touched: string[] = [];
      for (const bluumItem of bluumItems) {
        if (foreign.has(bluumItem.itemId)) continue;
        touched.push(...(await upsertItem(tx, userId, bluumItem)).accountIds);
      }
      // Bluum's list is the outcome of any disconnect whose lease expired (its process died mid-call):
      // the statuses just taken settle it, so the intent is cleared.
      await tx.$executeRaw`
        UPDATE plaid_items SET disconnect_lease_id = NULL, disconnect_lease_until = NULL
         WHERE user_id = ${userId} AND disconnect_lease_until <= now()`;
      // An account the user disconnected here stays disconnected; only a new connect brings it back.
      const disconnectedHere = [...before.values()]
        .filter((row) => row.status === 'disconnected')
        .map((row) => row.id);
      await tx.bankAccount.updateMany({
        where: { id: { in: disconnectedHere } },
        data: { status: 'disconnected' },
      });

      const after = await tx.bankAccount.findMany({
        where: { id: { in: touched } },
        select: ACCOUNT_STATE_SELECT,
      });
      const events = changes(before, after);
      await recordEvents(tx, userId, events, { via: 'sync' });
      const added = events.filter((e) => e.type === 'linked').length;
      const updated = events.length - added;
      return { added, updated, skipped: [...foreign] };
    });
  }
}

type Tx = Parameters<Parameters<PrismaService['$transaction']>[0]>[0];

// Locks the user so its Bluum account cannot change under us (see UsersRepository.upsert).
async function lockUser(tx: Tx, userId: string, bluumAccountId: string): Promise<void> {
  const [user] = await tx.$queryRaw<{ bluum_account_id: string }[]>`
    SELECT bluum_account_id FROM users WHERE id = ${userId} FOR UPDATE`;
  if (!user) throw new AppError('USER_NOT_FOUND', `No user ${userId} is registered.`);
  if (user.bluum_account_id !== bluumAccountId) {
    throw new AppError('BLUUM_ACCOUNT_CONFLICT', "The user's Bluum account changed while talking to Bluum.");
  }
}

// What Bluum decides about an account; a change in any of it counts as an update.
const ACCOUNT_STATE_SELECT = {
  id: true,
  name: true,
  type: true,
  subtype: true,
  mask: true,
  status: true,
  item: { select: { institutionId: true, institutionName: true, bluumFundingSourceId: true } },
} as const;

type AccountStateRow = Prisma.BankAccountGetPayload<{ select: typeof ACCOUNT_STATE_SELECT }>;

async function accountStates(
  tx: Tx,
  where: Prisma.BankAccountWhereInput,
): Promise<Map<string, AccountStateRow>> {
  const rows = await tx.bankAccount.findMany({ where, select: ACCOUNT_STATE_SELECT });
  return new Map(rows.map((row) => [row.id, row]));
}

export type FundingSourceEventType = 'linked' | 'updated' | 'status_changed' | 'disconnected';

interface Change {
  fundingSourceId: string;
  type: FundingSourceEventType;
  details: Record<string, unknown>;
}

/** What happened to each account between two readings: linked, status changed, updated, or nothing. */
function changes(before: Map<string, AccountStateRow>, after: AccountStateRow[]): Change[] {
  return after.flatMap((row): Change[] => {
    const previous = before.get(row.id);
    if (!previous) return [{ fundingSourceId: row.id, type: 'linked', details: { status: row.status } }];
    if (previous.status !== row.status) {
      return [
        {
          fundingSourceId: row.id,
          type: 'status_changed',
          details: { from: previous.status, to: row.status },
        },
      ];
    }
    return accountState(previous) === accountState(row)
      ? []
      : [{ fundingSourceId: row.id, type: 'updated', details: {} }];
  });
}

/** Writes the audit events of a change, in the change's own transaction, with its actor and request. */
async function recordEvents(
  tx: Tx,
  userId: string,
  events: Change[],
  context: { via: string },
): Promise<void> {
  if (events.length === 0) return;
  const { actor, requestId, clientRequestId } = currentAudit();
  await tx.fundingSourceEvent.createMany({
    data: events.map((event) => ({
      userId,
      fundingSourceId: event.fundingSourceId,
      type: event.type,
      actor: { ...actor },
      requestId,
      // The caller's own X-Request-Id, when it sent one, beside ours (never instead of it).
      details: { ...event.details, via: context.via, ...(clientRequestId ? { clientRequestId } : {}) },
    })),
  });
}

function accountState(row: {
  name: string;
  type: string;
  subtype: string | null;
  mask: string;
  status: string;
  item: { institutionId: string | null; institutionName: string; bluumFundingSourceId: string | null };
}): string {
  return JSON.stringify([row.name, row.type, row.subtype, row.mask, row.status, row.item]);
}

/**
 * Marks `accounts` disconnected with one audit event each, and returns the funding source `returnId`
 * (disconnected already, or among them).
 */
async function markDisconnected(
  tx: Tx,
  userId: string,
  accounts: { id: string; from: FundingSourceStatus }[],
  itemDisconnected: boolean,
  returnId: string,
): Promise<FundingSourceRecord> {
  if (accounts.length > 0) {
    await tx.bankAccount.updateMany({
      where: { id: { in: accounts.map((account) => account.id) } },
      data: { status: 'disconnected' },
    });
    await recordEvents(
      tx,
      userId,
      accounts.map((account) => ({
        fundingSourceId: account.id,
        type: 'disconnected',
        details: { from: account.from, itemDisconnected },
      })),
      { via: 'disconnect' },
    );
  }
  return toRecord(
    await tx.bankAccount.findUniqueOrThrow({ where: { id: returnId }, select: FUNDING_SOURCE_SELECT }),
  );
}

/** Creates or updates an item (by itemId) and each of its accounts (by accountId). */
async function upsertItem(
  tx: Tx,
  userId: string,
  bluumItem: BluumItem,
): Promise<{ item: LinkedItemRecord; accountIds: string[] }> {
  const status = STATUS_FROM_BLUUM[bluumItem.status];
  const itemFields = {
    bluumFundingSourceId: bluumItem.id,
    institutionId: bluumItem.institutionId,
    institutionName: bluumItem.institutionName,
    status,
  };
  const item = await tx.plaidItem.upsert({
    where: { itemId: bluumItem.itemId },
    create: { userId, itemId: bluumItem.itemId, ...itemFields },
    update: itemFields,
    select: { id: true, itemId: true, institutionId: true, institutionName: true, status: true },
  });
  const accountIds: string[] = [];
  for (const account of bluumItem.accounts) {
    const accountFields = {
      name: account.accountName,
      type: account.accountType,
      subtype: account.accountSubtype,
      mask: account.mask,
      status,
    };
    const saved = await tx.bankAccount.upsert({
      where: { plaidItemId_accountId: { plaidItemId: item.id, accountId: account.accountId } },
      create: { plaidItemId: item.id, userId, accountId: account.accountId, ...accountFields },
      update: accountFields,
      select: { id: true },
    });
    accountIds.push(saved.id);
  }
  return {
    item: {
      itemId: item.itemId,
      institutionId: item.institutionId,
      institutionName: item.institutionName,
      status: item.status,
    },
    accountIds,
  };
}
