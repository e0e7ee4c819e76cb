import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import type { Caller } from '../auth/caller';
import { BluumGateway } from '../bluum/bluum.gateway';
import type { BluumItem } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../database/database-errors';
import { RequestContext } from '../logging/request-context';
import type { UserRecord } from '../users/user.record';
import { UsersService } from '../users/users.service';
import type { ConnectMetadataDto } from './dto/connect-metadata.dto';
import type { CreateLinkTokenDto } from './dto/create-link-token.dto';
import type { FundingSourceDto } from './dto/funding-source.dto';
import type { LinkTokenDto } from './dto/link-token.dto';
import type { StatusFilter } from './dto/list-funding-sources.query';
import type { SyncResultDto } from './dto/sync-result.dto';
import { requireCompletionRedirect } from './completion-redirect';
import {
  type ConnectResponse,
  FUNDING_SOURCE_STATUSES,
  type FundingSourceRecord,
  type FundingSourceStatus,
  toFundingSource,
} from './funding-source';
import { FundingSourceReads } from './funding-source-reads';
import { type DisconnectStart, FundingSourceWrites, type UserLockFailure } from './funding-source-writes';
import { PublicTokenExchanges } from './public-token-exchanges';
import { findDuplicateItem, itemToStore } from './reconcile';

const DEFAULT_STATUSES: readonly FundingSourceStatus[] = ['active', 'error'];
const CLAIM_POLL_MS = 100;
// A waiting disconnect looks again this often: one plain read each time, nothing held in between.
const DISCONNECT_POLL_MS = 250;
// After Bluum linked or disconnected an item, recording it is retried after these pauses.
const RECORD_RETRY_DELAYS_MS = [200, 800];
// Failures after which Bluum may have linked the bank anyway: its reply, not its work, was lost.
const AMBIGUOUS_FAILURES = new Set(['BLUUM_TIMEOUT', 'BLUUM_UNAVAILABLE', 'BLUUM_BAD_RESPONSE']);
// What recordAfterBluum answers when the database stayed away through every retry.
const UNRECORDED = Symbol('unrecorded');

export interface ConnectResult {
  response: ConnectResponse;
  /** True when this public token had already been exchanged and the stored response is replayed. */
  replayed: boolean;
}

/** A disconnect lease this request holds on the item, and the ids Bluum is called with. */
type HeldLease = Extract<DisconnectStart, { kind: 'leased' }>['item'] & { leaseId: string };

@Injectable()
export class FundingSourcesService {
  private readonly logger = new Logger(FundingSourcesService.name);
  // A public-token claim or a disconnect lease older than this was abandoned (its process died).
  private readonly bluumWorkBudgetMs: number;
  private readonly redirectOrigins: ReadonlySet<string>;

  constructor(
    private readonly users: UsersService,
    private readonly reads: FundingSourceReads,
    private readonly writes: FundingSourceWrites,
    private readonly exchanges: PublicTokenExchanges,
    private readonly bluum: BluumGateway,
    @Inject(APP_CONFIG) config: AppConfig,
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
   * Exchanges the public token at Bluum, then stores the item; nothing is stored if Bluum fails.
   * The same token sent again (Plaid Link's onSuccess can fire twice), even at the same time from
   * another instance, calls Bluum once: the later requests wait for the first and replay its response.
   * With Plaid Link's `metadata`, a bank the user already has linked and active is refused with
   * DUPLICATE_ITEM before Bluum is called; without it, such a duplicate is stored and reported.
   */
  async connect(
    userId: string,
    publicToken: string,
    caller: Caller,
    metadata?: ConnectMetadataDto | null,
  ): Promise<ConnectResult> {
    const user = await this.users.require(userId);
    // Only the token's hash is ever stored.
    const tokenHash = createHash('sha256').update(publicToken).digest('hex');
    const replay = await this.claimToken(tokenHash, userId);
    if (replay !== null) return { response: replay, replayed: true };
    const bluumItem = await this.exchangeAtBluum(user, tokenHash, publicToken, caller, metadata);
    return { response: await this.recordLinked(user, tokenHash, bluumItem, caller), replayed: false };
  }

  /**
   * Connect, step 1: claims the token for this request (null), or answers the stored response of its
   * completed exchange, waiting for an exchange in progress elsewhere up to the work budget.
   */
  private async claimToken(tokenHash: string, userId: string): Promise<ConnectResponse | null> {
    const deadline = this.clock.now() + this.bluumWorkBudgetMs;
    for (;;) {
      const staleBefore = new Date(this.clock.now() - this.bluumWorkBudgetMs);
      const claim = await this.exchanges.claim(tokenHash, userId, staleBefore);
      if (claim?.state === 'claimed') return null;
      if (claim?.state === 'completed') {
        // Another user's token is "already used" to this caller, and tells it nothing more.
        // Its stored response is dropped after a day (the retention sweep): the token stays refused.
        if (claim.userId !== userId || claim.response === null) throw this.tokenAlreadyUsed();
        return claim.response as ConnectResponse;
      }
      if (this.clock.now() > deadline) {
        throw new AppError('CONNECT_IN_PROGRESS', 'This public token is being exchanged by another request.');
      }
      await this.clock.sleep(CLAIM_POLL_MS);
    }
  }

  /**
   * Connect, step 2, with the token claimed: the duplicate check, then Bluum's exchange. On any failure
   * the claim is given up, so the token can be tried again (if that fails too, the claim goes stale
   * just the same: the first error is the answer).
   */
  private async exchangeAtBluum(
    user: UserRecord,
    tokenHash: string,
    publicToken: string,
    caller: Caller,
    metadata: ConnectMetadataDto | null | undefined,
  ): Promise<BluumItem> {
    try {
      // Only once this request owns the token: a second submit of a token the first just linked
      // replays the first answer instead of finding the bank it linked a duplicate.
      if (metadata) await this.refuseDuplicate(user.id, metadata);
      return await this.bluum.exchangePublicToken(
        user.bluumAccountId,
        publicToken,
        RequestContext.from(caller),
      );
    } catch (err) {
      await this.releaseToken(tokenHash);
      throw this.withSyncHint(err, user.id);
    }
  }

  /**
   * Connect, step 3, after Bluum exchanged the token (it cannot be exchanged again): stores the item and
   * completes the exchange, answering the response stored for replays. A spent token whose bank could
   * not be recorded stays claimed until its claim goes stale: a repeat then answers CONNECT_IN_PROGRESS
   * instead of sending Bluum the spent token (whose refusal would tell the user to link the bank again);
   * sync or the sweep records the bank. Any other failure gives the claim up.
   */
  private async recordLinked(
    user: UserRecord,
    tokenHash: string,
    bluumItem: BluumItem,
    caller: Caller,
  ): Promise<ConnectResponse> {
    const saved = await this.recordAfterBluum(() =>
      this.writes.saveLinkedItem(user.id, user.bluumAccountId, itemToStore(bluumItem), { tokenHash, caller }),
    ).catch(async (err: unknown) => {
      await this.releaseToken(tokenHash);
      throw err;
    });
    if (saved === UNRECORDED) {
      this.logger.warn(
        `connect for ${user.id}: Bluum linked item ${bluumItem.itemId}, recording it failed`,
        RequestContext.from(caller),
      );
      throw new AppError(
        'DATABASE_UNAVAILABLE',
        `Bluum linked this bank, but recording it failed. POST /v1/users/${user.id}/funding-sources/sync records it (the reconciliation sweep does too); repeating this connect cannot, the public token is spent.`,
      );
    }
    if (saved.kind !== 'saved') {
      await this.releaseToken(tokenHash);
      throw saved.kind === 'item-of-another-user'
        ? new AppError('ITEM_LINKED_TO_ANOTHER_USER', 'This bank link is already stored for another user.')
        : this.userLockFailure(saved, user.id);
    }
    if (saved.duplicateOfItemId !== null) {
      const { itemId, institutionId } = saved.linked.item;
      this.logger.warn(
        `connect for ${user.id}: item ${itemId} at ${institutionId} duplicates active item ${saved.duplicateOfItemId}; stored, and its linked events say so`,
        RequestContext.from(caller),
      );
    }
    return saved.response;
  }

  private async releaseToken(tokenHash: string): Promise<void> {
    await this.exchanges.release(tokenHash).catch(() => undefined);
  }

  /** DUPLICATE_ITEM, with the funding sources already linked, when `metadata` names a bank the user has active. */
  private async refuseDuplicate(userId: string, metadata: ConnectMetadataDto): Promise<void> {
    const institutionId = metadata.institution.id;
    const duplicate = findDuplicateItem(
      { institutionId, accounts: metadata.accounts },
      await this.writes.activeItemsAtInstitution(userId, institutionId),
    );
    if (duplicate === null) return;
    throw new AppError(
      'DUPLICATE_ITEM',
      `This bank is already linked (item ${duplicate.itemId}, the same accounts at ${institutionId}); the public token was not exchanged. Use the funding sources listed, or disconnect them first to link the bank again.`,
      undefined,
      duplicate.fundingSources.filter((source) => source.status !== 'disconnected').map(toFundingSource),
    );
  }

  /**
   * Disconnects one bank account (soft delete). The last active account of an item takes the item with
   * it, at Bluum first; if Bluum fails, nothing changes. In three steps, so that no database connection
   * or lock is held while Bluum is waited on: record the intent (a lease on the item), call Bluum, record
   * the outcome. A concurrent disconnect of the same item waits for the one in progress and answers its
   * result; Bluum is called once, unless the first outlives its lease (then the DELETE is repeated,
   * which Bluum answers as done).
   */
  async disconnect(userId: string, fundingSourceId: string, caller: Caller): Promise<FundingSourceDto> {
    const user = await this.users.require(userId);
    const claimed = await this.claimDisconnect(userId, fundingSourceId, caller);
    if (claimed.kind === 'done') return toFundingSource(claimed.record);
    await this.disconnectAtBluum(user.bluumAccountId, userId, claimed.lease, caller);
    return toFundingSource(await this.recordDisconnected(userId, fundingSourceId, claimed.lease.id, caller));
  }

  /**
   * Disconnect, step 1: the answer when no Bluum call is needed (another account of the item stays
   * active, or it is already disconnected), or a lease on the item for this request. A disconnect in
   * progress elsewhere is waited for, then looked at again.
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
      // Bluum's minimal connect reply (its first documented shape) may lack Bluum's id for the item: Bluum's list has it.
      const bluumId =
        lease.bluumFundingSourceId ??
        (await this.bluum.listItems(bluumAccountId, request)).find((i) => i.itemId === lease.itemId)?.id ??
        null;
      // An item Bluum does not list (or lists without an id) has nothing left to disconnect there.
      if (bluumId !== null) await this.bluum.disconnectItem(bluumAccountId, bluumId, request);
    } catch (err) {
      // The item stays as it was. If the database is away too, the lease expires by itself.
      await this.writes.releaseDisconnect(lease.id, lease.leaseId).catch(() => undefined);
      throw this.withDisconnectHint(err, userId);
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
    plaidItemId: string,
    caller: Caller,
  ): Promise<FundingSourceRecord> {
    const recorded = await this.recordAfterBluum(() =>
      this.writes.finishDisconnect(userId, fundingSourceId, plaidItemId, caller),
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

  /**
   * Records what Bluum has already done, retrying a database that blinked (RECORD_RETRY_DELAYS_MS);
   * UNRECORDED if it stays away. Any other failure is thrown as it is.
   */
  private async recordAfterBluum<T>(record: () => Promise<T>): Promise<T | typeof UNRECORDED> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await record();
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        if (attempt >= RECORD_RETRY_DELAYS_MS.length) return UNRECORDED;
        await this.clock.sleep(RECORD_RETRY_DELAYS_MS[attempt]);
      }
    }
  }

  // After a timeout or a lost reply Bluum may have disconnected the item: repeating is safe.
  private withDisconnectHint(err: unknown, userId: string): unknown {
    if (!(err instanceof AppError) || !AMBIGUOUS_FAILURES.has(err.code)) return err;
    return new AppError(
      err.code,
      `${err.message} Repeating the DELETE is safe; POST /v1/users/${userId}/funding-sources/sync takes Bluum's status.`,
    );
  }

  /** Reads Bluum's list and brings the stored items in line with it. */
  async sync(userId: string, caller: Caller): Promise<SyncResultDto> {
    const user = await this.users.require(userId);
    const bluumItems = await this.bluum.listItems(user.bluumAccountId, RequestContext.from(caller));
    const synced = await this.writes.syncItems(userId, user.bluumAccountId, bluumItems, caller);
    if (synced.kind !== 'synced') throw this.userLockFailure(synced, userId);
    if (synced.skipped.length > 0) {
      this.logger.warn(
        `sync for ${userId}: ${synced.skipped.length} item(s) from Bluum are stored for another user; left alone`,
        RequestContext.from(caller),
      );
    }
    const sources = await this.reads.listByUser(userId, FUNDING_SOURCE_STATUSES);
    return { data: sources.map(toFundingSource), added: synced.added, updated: synced.updated };
  }

  // The user was locked for a write after Bluum answered, and was gone or moved to another Bluum account.
  private userLockFailure(failure: UserLockFailure, userId: string): AppError {
    return failure.kind === 'user-not-found'
      ? new AppError('USER_NOT_FOUND', `No user ${userId} is registered.`)
      : new AppError('BLUUM_ACCOUNT_CONFLICT', "The user's Bluum account changed while talking to Bluum.");
  }

  private withSyncHint(err: unknown, userId: string): unknown {
    if (!(err instanceof AppError) || !AMBIGUOUS_FAILURES.has(err.code)) return err;
    return new AppError(
      err.code,
      `${err.message} If Bluum linked the bank before this failure, POST /v1/users/${userId}/funding-sources/sync recovers it.`,
    );
  }

  private tokenAlreadyUsed(): AppError {
    return new AppError(
      'PUBLIC_TOKEN_REJECTED',
      'This public token has already been exchanged. Open Plaid Link again to link another bank.',
    );
  }

  async list(userId: string, status: StatusFilter | undefined): Promise<FundingSourceDto[]> {
    const statuses =
      status === undefined ? DEFAULT_STATUSES : status === 'all' ? FUNDING_SOURCE_STATUSES : [status];
    const sources = await this.reads.listByUser(userId, statuses);
    // Only an empty answer needs the second look: is the user unknown, or does it have nothing linked?
    if (sources.length === 0) await this.users.require(userId);
    return sources.map(toFundingSource);
  }

  async get(userId: string, fundingSourceId: string): Promise<FundingSourceDto> {
    const source = await this.reads.findForUser(userId, fundingSourceId);
    if (!source) {
      await this.users.require(userId);
      throw new AppError(
        'FUNDING_SOURCE_NOT_FOUND',
        `User ${userId} has no funding source ${fundingSourceId}.`,
      );
    }
    return toFundingSource(source);
  }
}
