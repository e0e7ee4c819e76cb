import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { Caller } from '../auth/caller';
import { BluumGateway } from '../bluum/bluum.gateway';
import type { BluumItem } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { RequestContext } from '../logging/request-context';
import type { UserRecord } from '../users/user.record';
import { UsersService } from '../users/users.service';
import { recordAfterBluum, UNRECORDED, userLockFailure, withAmbiguityHint } from './after-bluum';
import type { ConnectMetadataDto } from './dto/connect-metadata.dto';
import { type ConnectResponse, toFundingSource } from './funding-source';
import { FundingSourceWrites } from './funding-source-writes';
import { PublicTokenExchanges } from './public-token-exchanges';
import { findDuplicateItem, itemToStore } from './reconcile';

// A claim in progress elsewhere is looked at again this often.
const CLAIM_POLL_MS = 100;

export interface ConnectResult {
  response: ConnectResponse;
  /** True when this public token had already been exchanged and the stored response is replayed. */
  replayed: boolean;
}

/**
 * Connect: a public token exchanged at Bluum once, however often and wherever it is submitted, in three
 * steps: claim the token (PublicTokenExchanges), call Bluum, record the item with the exchange's
 * response. No database connection is held while Bluum is waited on.
 */
@Injectable()
export class ConnectService {
  private readonly logger = new Logger(ConnectService.name);
  // A public-token claim older than this was abandoned (its process died).
  private readonly bluumWorkBudgetMs: number;

  constructor(
    private readonly users: UsersService,
    private readonly writes: FundingSourceWrites,
    private readonly exchanges: PublicTokenExchanges,
    private readonly bluum: BluumGateway,
    @Inject(BLUUM_CONFIG) config: BluumConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.bluumWorkBudgetMs = config.bluumWorkBudgetMs;
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
    const claimed = metadata?.institution.id ?? null;
    return {
      response: await this.recordLinked(user, tokenHash, bluumItem, caller, claimed),
      replayed: false,
    };
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
      // Bluum's word on the institution is what is stored and told; Plaid Link's metadata, when sent, is
      // the client's claim, kept apart (it keys the duplicate check where Bluum names no institution id).
      return await this.bluum.exchangePublicToken(
        user.bluumAccountId,
        publicToken,
        RequestContext.from(caller),
      );
    } catch (err) {
      await this.releaseToken(tokenHash);
      throw withAmbiguityHint(
        err,
        `If Bluum linked the bank before this failure, POST /v1/users/${user.id}/funding-sources/sync recovers it.`,
      );
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
    claimedInstitutionId: string | null,
  ): Promise<ConnectResponse> {
    const saved = await recordAfterBluum(
      () =>
        this.writes.saveLinkedItem(
          user.id,
          user.bluumAccountId,
          itemToStore(bluumItem),
          { tokenHash, caller },
          claimedInstitutionId,
        ),
      this.clock,
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
        : userLockFailure(saved, user.id);
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

  private tokenAlreadyUsed(): AppError {
    return new AppError(
      'PUBLIC_TOKEN_REJECTED',
      'This public token has already been exchanged. Open Plaid Link again to link another bank.',
    );
  }
}
