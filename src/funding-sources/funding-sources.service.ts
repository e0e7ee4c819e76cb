import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Caller } from '../auth/caller';
import { BluumGateway } from '../bluum/bluum.gateway';
import { AppError } from '../common/app-error';
import type { JsonText } from '../common/json-text';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../database/database-errors';
import { RequestContext } from '../logging/request-context';
import { UsersService } from '../users/users.service';
import type { ConnectMetadataDto } from './dto/connect-metadata.dto';
import type { ConnectResponseDto } from './dto/connect-response.dto';
import type { CreateLinkTokenDto } from './dto/create-link-token.dto';
import type { FundingSourceDto } from './dto/funding-source.dto';
import type { LinkTokenDto } from './dto/link-token.dto';
import type { StatusFilter } from './dto/list-funding-sources.query';
import type { SyncResultDto } from './dto/sync-result.dto';
import type { AdminListQuery } from './dto/admin-list.query';
import type { EventsQuery, FundingSourceEventPageDto } from './dto/funding-source-event.dto';
import type { FundingSourcePageDto } from './dto/funding-source-page.dto';
import { checkCompletionRedirect } from './completion-redirect';
import { decodeCursor, toPage } from './page-cursor';
import {
  FUNDING_SOURCE_STATUSES,
  type FundingSourceRecord,
  type FundingSourceStatus,
  toConnectResponse,
  toFundingSource,
} from './funding-source';
import { FundingSourcesRepository, type UserLockFailure } from './funding-sources.repository';
import { findDuplicateItem, itemToStore } from './reconcile';

const DEFAULT_STATUSES: readonly FundingSourceStatus[] = ['active', 'error'];
const CLAIM_POLL_MS = 100;
// A waiting disconnect looks again this often: one plain read each time, nothing held in between.
const DISCONNECT_POLL_MS = 250;
// After Bluum linked or disconnected an item, recording it is retried after these pauses.
const RECORD_RETRY_DELAYS_MS = [200, 800];
// Failures after which Bluum may have linked the bank anyway: its reply, not its work, was lost.
const AMBIGUOUS_FAILURES = new Set(['BLUUM_TIMEOUT', 'BLUUM_UNAVAILABLE', 'BLUUM_BAD_RESPONSE']);

export interface ConnectResult {
  response: ConnectResponseDto;
  /** True when this public token had already been exchanged and the stored response is replayed. */
  replayed: boolean;
}

@Injectable()
export class FundingSourcesService {
  constructor(
    private readonly users: UsersService,
    private readonly repository: FundingSourcesRepository,
    private readonly bluum: BluumGateway,
    @Inject(BLUUM_CONFIG) config: BluumConfig,
  ) {
    // A public-token claim or a disconnect lease older than this was abandoned (its process died).
    this.bluumWorkBudgetMs = config.bluumWorkBudgetMs;
    this.redirectOrigins = new Set(config.linkCompletionRedirectOrigins);
  }

  private readonly redirectOrigins: ReadonlySet<string>;

  private readonly bluumWorkBudgetMs: number;
  private readonly logger = new Logger(FundingSourcesService.name);

  async createLinkToken(userId: string, request: CreateLinkTokenDto, caller: Caller): Promise<LinkTokenDto> {
    const enableHostedLink = request.enableHostedLink ?? false;
    const completionRedirectUri =
      request.completionRedirectUri === undefined
        ? undefined
        : this.checkRedirect(request.completionRedirectUri, enableHostedLink);
    const user = await this.users.require(userId);
    const { linkToken, hostedLinkUrl } = await this.bluum.createLinkToken(
      user.bluumAccountId,
      { enableHostedLink, completionRedirectUri },
      RequestContext.from(caller),
    );
    return { linkToken, hostedLinkUrl };
  }

  // A redirect to anywhere would make the hosted link an open redirect: only allow-listed origins, and
  // Bluum gets the URI exactly as it was checked (its normalized href).
  private checkRedirect(uri: string, enableHostedLink: boolean): string {
    const refuse = (message: string): never => {
      throw new AppError('VALIDATION_FAILED', message, [{ field: 'completionRedirectUri', message }]);
    };
    if (!enableHostedLink)
      refuse('completionRedirectUri is for the hosted link only (enableHostedLink: true)');
    const checked = checkCompletionRedirect(uri, this.redirectOrigins);
    return checked.ok ? checked.href : refuse(checked.message);
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
    const deadline = Date.now() + this.bluumWorkBudgetMs;
    for (;;) {
      const claim = await this.repository.claimPublicToken(
        tokenHash,
        userId,
        new Date(Date.now() - this.bluumWorkBudgetMs),
      );
      if (claim?.state === 'claimed') break;
      if (claim?.state === 'completed') {
        // Another user's token is "already used" to this caller, and tells it nothing more.
        // Its stored response is dropped after a day (the retention sweep): the token stays refused.
        if (claim.userId !== userId || claim.response === null) throw this.tokenAlreadyUsed();
        return { response: claim.response as ConnectResponseDto, replayed: true };
      }
      if (Date.now() > deadline) {
        throw new AppError('CONNECT_IN_PROGRESS', 'This public token is being exchanged by another request.');
      }
      await sleep(CLAIM_POLL_MS);
    }

    // Bluum has exchanged the token: it cannot be exchanged again.
    let spent = false;
    try {
      // Only once this request owns the token: a second submit of a token the first just linked
      // replays the first answer above instead of finding the bank it linked a duplicate.
      if (metadata) await this.refuseDuplicate(userId, metadata);
      const bluumItem = await this.bluum
        .exchangePublicToken(user.bluumAccountId, publicToken, RequestContext.from(caller))
        .catch((err: unknown) => {
          throw this.withSyncHint(err, userId);
        });
      spent = true;
      const saved = await this.recordAfterBluum(
        () =>
          this.repository.saveLinkedItem(userId, user.bluumAccountId, itemToStore(bluumItem), {
            tokenHash,
            caller,
          }),
        () => {
          this.logger.warn(
            `connect for ${userId}: Bluum linked item ${bluumItem.itemId}, recording it failed`,
            RequestContext.from(caller),
          );
          return new AppError(
            'DATABASE_UNAVAILABLE',
            `Bluum linked this bank, but recording it failed. POST /v1/users/${userId}/funding-sources/sync records it (the reconciliation sweep does too); repeating this connect cannot, the public token is spent.`,
          );
        },
      );
      if (saved.kind === 'item-of-another-user') {
        throw new AppError(
          'ITEM_LINKED_TO_ANOTHER_USER',
          'This bank link is already stored for another user.',
        );
      }
      if (saved.kind !== 'saved') throw this.userLockFailure(saved, userId);
      if (saved.duplicateOfItemId !== null) {
        const { itemId, institutionId } = saved.linked.item;
        this.logger.warn(
          `connect for ${userId}: item ${itemId} at ${institutionId} duplicates active item ${saved.duplicateOfItemId}; stored, and its linked events say so`,
          RequestContext.from(caller),
        );
      }
      return { response: toConnectResponse(saved.linked), replayed: false };
    } catch (err) {
      // A spent token whose bank could not be recorded stays claimed until its claim goes stale: a
      // repeat then answers CONNECT_IN_PROGRESS instead of sending Bluum the spent token (whose refusal
      // would tell the user to link the bank again). Sync or the sweep records the bank. If the release
      // itself fails, the claim goes stale just the same: the first error is the answer.
      const unrecorded = spent && err instanceof AppError && err.code === 'DATABASE_UNAVAILABLE';
      if (!unrecorded) await this.repository.releasePublicToken(tokenHash).catch(() => undefined);
      throw err;
    }
  }

  /** DUPLICATE_ITEM, with the funding sources already linked, when `metadata` names a bank the user has active. */
  private async refuseDuplicate(userId: string, metadata: ConnectMetadataDto): Promise<void> {
    const institutionId = metadata.institution.id;
    const duplicate = findDuplicateItem(
      { institutionId, accounts: metadata.accounts },
      await this.repository.activeItemsAtInstitution(userId, institutionId),
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
    const deadline = Date.now() + this.bluumWorkBudgetMs;
    for (;;) {
      const leaseId = randomUUID();
      const begun = await this.repository.beginDisconnect(
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
          return toFundingSource(begun.record);
        case 'leased':
          return toFundingSource(
            await this.disconnectAtBluum(user.bluumAccountId, userId, fundingSourceId, begun.item, {
              leaseId,
              caller,
            }),
          );
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
      if (Date.now() + DISCONNECT_POLL_MS > deadline) {
        throw new AppError(
          'DISCONNECT_IN_PROGRESS',
          'Another request is disconnecting this bank at Bluum. Retry after Retry-After seconds.',
        );
      }
      await sleep(DISCONNECT_POLL_MS);
    } while (await this.repository.disconnectInProgress(userId, fundingSourceId));
  }

  private async disconnectAtBluum(
    bluumAccountId: string,
    userId: string,
    fundingSourceId: string,
    item: { id: string; itemId: string; bluumFundingSourceId: string | null },
    held: { leaseId: string; caller: Caller },
  ): Promise<FundingSourceRecord> {
    const request = RequestContext.from(held.caller);
    try {
      // Bluum's minimal connect reply (its first documented shape) may lack Bluum's id for the item: Bluum's list has it.
      const bluumId =
        item.bluumFundingSourceId ??
        (await this.bluum.listItems(bluumAccountId, request)).find((i) => i.itemId === item.itemId)?.id ??
        null;
      // An item Bluum does not list (or lists without an id) has nothing left to disconnect there.
      if (bluumId !== null) await this.bluum.disconnectItem(bluumAccountId, bluumId, request);
    } catch (err) {
      // The item stays as it was. If the database is away too, the lease expires by itself.
      await this.repository.releaseDisconnect(item.id, held.leaseId).catch(() => undefined);
      throw this.withDisconnectHint(err, userId);
    }
    return this.recordDisconnected(userId, fundingSourceId, item.id, held.caller);
  }

  /**
   * Records what Bluum did, whether or not the caller is still there, retrying a database that blinked:
   * the bank is already disconnected at Bluum. If the database stays away, the lease is left to expire
   * and the next disconnect (Bluum answers a repeated DELETE as done) or sync settles it.
   */
  private async recordDisconnected(
    userId: string,
    fundingSourceId: string,
    plaidItemId: string,
    caller: Caller,
  ): Promise<FundingSourceRecord> {
    return this.recordAfterBluum(
      () => this.repository.finishDisconnect(userId, fundingSourceId, plaidItemId, caller),
      () => {
        this.logger.warn(
          `disconnect of ${fundingSourceId}: Bluum disconnected the item, recording it failed`,
          RequestContext.from(caller),
        );
        return new AppError(
          'DATABASE_UNAVAILABLE',
          'Bluum disconnected this bank, but recording it failed. Repeat the DELETE (safe) to record it.',
        );
      },
    );
  }

  /**
   * Records what Bluum has already done, retrying a database that blinked (RECORD_RETRY_DELAYS_MS);
   * `giveUp()` is thrown if it stays away: it tells the caller how the outcome gets recorded later.
   */
  private async recordAfterBluum<T>(record: () => Promise<T>, giveUp: () => AppError): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await record();
      } catch (err) {
        if (!isDatabaseUnavailable(err)) throw err;
        if (attempt >= RECORD_RETRY_DELAYS_MS.length) throw giveUp();
        await sleep(RECORD_RETRY_DELAYS_MS[attempt]);
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
    const synced = await this.repository.syncItems(userId, user.bluumAccountId, bluumItems, caller);
    if (synced.kind !== 'synced') throw this.userLockFailure(synced, userId);
    if (synced.skipped.length > 0) {
      this.logger.warn(
        `sync for ${userId}: ${synced.skipped.length} item(s) from Bluum are stored for another user; left alone`,
        RequestContext.from(caller),
      );
    }
    const sources = await this.repository.listByUser(userId, FUNDING_SOURCE_STATUSES);
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

  /** The user's funding sources as the API's JSON (`{ data: [...] }`), rendered by the database. */
  async list(
    userId: string,
    status: StatusFilter | undefined,
  ): Promise<JsonText<{ data: FundingSourceDto[] }>> {
    const statuses =
      status === undefined ? DEFAULT_STATUSES : status === 'all' ? FUNDING_SOURCE_STATUSES : [status];
    const sources = await this.repository.listJsonByUser(userId, statuses);
    // Only an empty answer needs the second look: is the user unknown, or does it have nothing linked?
    if (sources.length === 0) await this.users.require(userId);
    return `{"data":[${sources.join(',')}]}`;
  }

  /** Every user's funding sources, for admins: filtered, newest first, by keyset pages. */
  async adminList(query: AdminListQuery): Promise<FundingSourcePageDto> {
    const limit = query.limit ?? 50;
    const status = query.status ?? 'all';
    const { rows, snapshot } = await this.repository.listPage({
      userId: query.userId,
      institution: query.institution,
      status: status === 'all' ? undefined : status,
      // One more than asked tells whether another page follows.
      limit: limit + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, { withSnapshot: true }),
    });
    const { page, nextCursor } = toPage(rows, limit, ({ createdAt, id }) => ({ createdAt, id, snapshot }));
    return { data: page.map(toFundingSource), nextCursor };
  }

  /** A user's audit trail, for admins, by keyset pages. */
  async events(userId: string, query: EventsQuery): Promise<FundingSourceEventPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.repository.listEvents(
      userId,
      limit + 1,
      query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    );
    if (rows.length === 0 && query.cursor === undefined) await this.users.require(userId);
    const { page, nextCursor } = toPage(rows, limit, (event) => ({ createdAt: event.at, id: event.id }));
    return {
      nextCursor,
      data: page.map((event) => ({ ...event, at: event.at.toISOString() })),
    };
  }

  /** One funding source as the API's JSON, rendered by the database. */
  async get(userId: string, fundingSourceId: string): Promise<JsonText<FundingSourceDto>> {
    const source = await this.repository.findJsonForUser(userId, fundingSourceId);
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
