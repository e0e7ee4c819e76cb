import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import { BluumGateway } from '../bluum/bluum.gateway';
import { AppError } from '../common/app-error';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import type { JsonText } from '../common/json-text';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { RequestContext } from '../logging/request-context';
import { UsersService } from '../users/users.service';
import type { CreateLinkTokenDto } from './dto/create-link-token.dto';
import type { FundingSourceDto } from './dto/funding-source.dto';
import type { LinkTokenDto } from './dto/link-token.dto';
import type { StatusFilter } from './dto/list-funding-sources.query';
import type { SyncResultDto } from './dto/sync-result.dto';
import { recordAfterBluum, UNRECORDED, userLockFailure, withAmbiguityHint } from './after-bluum';
import { requireCompletionRedirect } from './completion-redirect';
import {
  FUNDING_SOURCE_STATUSES,
  type FundingSourceRecord,
  type FundingSourceStatus,
  toFundingSource,
} from './funding-source';
import { FundingSourceReads } from './funding-source-reads';
import { type DisconnectStart, FundingSourceWrites } from './funding-source-writes';

const DEFAULT_STATUSES: readonly FundingSourceStatus[] = ['active', 'error'];
// A waiting disconnect looks again this often: one plain read each time, nothing held in between.
const DISCONNECT_POLL_MS = 250;

/** A disconnect lease this request holds on the item, and the ids Bluum is called with. */
type HeldLease = Extract<DisconnectStart, { kind: 'leased' }>['item'] & { leaseId: string };

/**
 * The user routes of funding sources but connect (ConnectService): link tokens, disconnect, sync, list
 * and get. Decides the contract's errors and the order of things; the queries are the repositories'.
 */
@Injectable()
export class FundingSourcesService {
  private readonly logger = new Logger(FundingSourcesService.name);
  // A disconnect lease older than this was abandoned (its process died).
  private readonly bluumWorkBudgetMs: number;
  private readonly redirectOrigins: ReadonlySet<string>;

  constructor(
    private readonly users: UsersService,
    private readonly reads: FundingSourceReads,
    private readonly writes: FundingSourceWrites,
    private readonly bluum: BluumGateway,
    @Inject(BLUUM_CONFIG) config: BluumConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.bluumWorkBudgetMs = config.bluumWorkBudgetMs;
    this.redirectOrigins = new Set(config.linkCompletionRedirectOrigins);
  }

  async createLinkToken(userId: string, request: CreateLinkTokenDto, caller: Caller): Promise<LinkTokenDto> {
    const enableHostedLink = request.enableHostedLink ?? false;
    // Bluum gets the URI exactly as it was checked (its normalized href).
    const completionRedirectUri =
      request.completionRedirectUri === undefined
        ? undefined
        : requireCompletionRedirect(request.completionRedirectUri, enableHostedLink, this.redirectOrigins);
    const user = await this.users.require(userId);
    const { linkToken, hostedLinkUrl } = await this.bluum.createLinkToken(
      user.bluumAccountId,
      { enableHostedLink, completionRedirectUri },
      RequestContext.from(caller),
    );
    return { linkToken, hostedLinkUrl };
  }

  /**
   * Disconnects one bank account (soft delete). The last active account of an item takes the item with
   * it, at Bluum first; an account Bluum holds as a funding source of its own (its investors generation)
   * is disconnected at Bluum first whichever it is. If Bluum fails, nothing changes. In three steps, so
   * that no database connection or lock is held while Bluum is waited on: record the intent (a lease on
   * the item), call Bluum, record the outcome. A concurrent disconnect of the same item waits for the one in progress and answers its
   * result; Bluum is called once, unless the first outlives its lease (then the DELETE is repeated,
   * which Bluum answers as done).
   */
  async disconnect(userId: string, fundingSourceId: string, caller: Caller): Promise<FundingSourceDto> {
    const user = await this.users.require(userId);
    const claimed = await this.claimDisconnect(userId, fundingSourceId, caller);
    if (claimed.kind === 'done') return toFundingSource(claimed.record);
    await this.disconnectAtBluum(user.bluumAccountId, userId, claimed.lease, caller);
    return toFundingSource(await this.recordDisconnected(userId, fundingSourceId, claimed.lease, caller));
  }

  /**
   * Disconnect, step 1: the answer when no Bluum call is needed (another account of the item stays
   * active and Bluum holds no funding source of this one's own, or it is already disconnected), or a
   * lease on the item for this request. A disconnect in progress elsewhere is waited for, then looked at
   * again.
   */
  private async claimDisconnect(
    userId: string,
    fundingSourceId: string,
    caller: Caller,
  ): Promise<{ kind: 'done'; record: FundingSourceRecord } | { kind: 'leased'; lease: HeldLease }> {
    const deadline = this.clock.now() + this.bluumWorkBudgetMs;
    for (;;) {
      const leaseId = randomUUID();
      const begun = await this.writes.beginDisconnect(
        userId,
        fundingSourceId,
        { id: leaseId, durationMs: this.bluumWorkBudgetMs },
        caller,
      );
      switch (begun.kind) {
        case 'not-found':
          throw new AppError(
            'FUNDING_SOURCE_NOT_FOUND',
            `User ${userId} has no funding source ${fundingSourceId}.`,
          );
        case 'disconnected':
          return { kind: 'done', record: begun.record };
        case 'leased':
          return { kind: 'leased', lease: { ...begun.item, leaseId } };
        case 'in-progress':
          await this.waitForDisconnect(userId, fundingSourceId, deadline);
      }
    }
  }

  /**
   * Waits, with one plain read now and then (no lock, no transaction, the read pool), until the
   * disconnect in progress ends or its lease expires; DISCONNECT_IN_PROGRESS if that outlasts `deadline`.
   */
  private async waitForDisconnect(userId: string, fundingSourceId: string, deadline: number): Promise<void> {
    do {
      if (this.clock.now() + DISCONNECT_POLL_MS > deadline) {
        throw new AppError(
          'DISCONNECT_IN_PROGRESS',
          'Another request is disconnecting this bank at Bluum. Retry after Retry-After seconds.',
        );
      }
      await this.clock.sleep(DISCONNECT_POLL_MS);
    } while (await this.reads.disconnectInProgress(userId, fundingSourceId));
  }

  /** Disconnect, step 2, holding the lease: Bluum disconnects the item; on failure the lease is given up. */
  private async disconnectAtBluum(
    bluumAccountId: string,
    userId: string,
    lease: HeldLease,
    caller: Caller,
  ): Promise<void> {
    const request = RequestContext.from(caller);
    try {
      if (lease.accountOnly !== null) {
        // Bluum holds this account as a funding source of its own: it goes alone there, and Bluum revokes
        // the item with its last one.
        await this.bluum.disconnectFundingSource(bluumAccountId, lease.accountOnly, request);
      } else {
        await this.bluum.disconnectItem(
          bluumAccountId,
          { itemId: lease.itemId, bluumFundingSourceId: lease.bluumFundingSourceId },
          request,
        );
      }
    } catch (err) {
      // The item stays as it was. If the database is away too, the lease expires by itself.
      await this.writes.releaseDisconnect(lease.id, lease.leaseId).catch(() => undefined);
      // After a timeout or a lost reply Bluum may have disconnected the item: repeating is safe.
      throw withAmbiguityHint(
        err,
        `Repeating the DELETE is safe; POST /v1/users/${userId}/funding-sources/sync takes Bluum's status.`,
      );
    }
  }

  /**
   * Disconnect, step 3: records what Bluum did, whether or not the caller is still there, retrying a
   * database that blinked: the bank is already disconnected at Bluum. If the database stays away, the
   * lease is left to expire and the next disconnect (Bluum answers a repeated DELETE as done) or sync
   * settles it.
   */
  private async recordDisconnected(
    userId: string,
    fundingSourceId: string,
    lease: HeldLease,
    caller: Caller,
  ): Promise<FundingSourceRecord> {
    const recorded = await recordAfterBluum(
      () =>
        this.writes.finishDisconnect(userId, fundingSourceId, lease.id, caller, lease.accountOnly !== null),
      this.clock,
    );
    if (recorded !== UNRECORDED) return recorded;
    this.logger.warn(
      `disconnect of ${fundingSourceId}: Bluum disconnected the item, recording it failed`,
      RequestContext.from(caller),
    );
    throw new AppError(
      'DATABASE_UNAVAILABLE',
      'Bluum disconnected this bank, but recording it failed. Repeat the DELETE (safe) to record it.',
    );
  }

  /** Reads Bluum's list and brings the stored items in line with it. */
  async sync(userId: string, caller: Caller): Promise<SyncResultDto> {
    const user = await this.users.require(userId);
    const bluumItems = await this.bluum.listItems(user.bluumAccountId, RequestContext.from(caller));
    const synced = await this.writes.syncItems(userId, user.bluumAccountId, bluumItems, caller);
    if (synced.kind !== 'synced') throw userLockFailure(synced, userId);
    if (synced.skipped.length > 0) {
      this.logger.warn(
        `sync for ${userId}: ${synced.skipped.length} item(s) from Bluum are stored for another user; left alone`,
        RequestContext.from(caller),
      );
    }
    const sources = await this.reads.listByUser(userId, FUNDING_SOURCE_STATUSES);
    return { data: sources.map(toFundingSource), added: synced.added, updated: synced.updated };
  }

  /** The user's funding sources as the API's JSON (`{ data: [...] }`), rendered by the database. */
  async list(
    userId: string,
    status: StatusFilter | undefined,
  ): Promise<JsonText<{ data: FundingSourceDto[] }>> {
    const statuses =
      status === undefined ? DEFAULT_STATUSES : status === 'all' ? FUNDING_SOURCE_STATUSES : [status];
    const sources = await this.reads.listJsonByUser(userId, statuses);
    // Only an empty answer needs the second look: is the user unknown, or does it have nothing linked?
    if (sources.length === 0) await this.users.require(userId);
    return `{"data":[${sources.join(',')}]}`;
  }

  /** One funding source as the API's JSON, rendered by the database. */
  async get(userId: string, fundingSourceId: string): Promise<JsonText<FundingSourceDto>> {
    const source = await this.reads.findJsonForUser(userId, fundingSourceId);
    if (source === null) {
      await this.users.require(userId);
      throw new AppError(
        'FUNDING_SOURCE_NOT_FOUND',
        `User ${userId} has no funding source ${fundingSourceId}.`,
      );
    }
    return source;
  }
}
