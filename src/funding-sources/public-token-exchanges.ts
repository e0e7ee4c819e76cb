import { Injectable } from '@nestjs/common';
import { PrismaService, type Transaction } from '../database/prisma.service';
import { type ConnectResponse, type LinkedItem, toConnectResponse } from './funding-source';

/** Where a public token stands: this caller now owns its exchange, another is exchanging it, or it is done. */
export type PublicTokenClaim =
  { state: 'claimed' } | { state: 'pending' } | { state: 'completed'; userId: string; response: unknown };

/**
 * The public-token claim protocol (public_token_exchanges, by the token's SHA-256): a connect claims
 * the token before it calls Bluum, releases it if Bluum fails, and completes it with the connect
 * response in the transaction that stores the item, so a double submit replays exactly that response.
 */
@Injectable()
export class PublicTokenExchanges {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims the exchange of a public token for this caller. The primary key settles races between
   * requests and instances; a claim older than `staleBefore` was abandoned (its process died mid-call)
   * and is taken over.
   */
  async claim(tokenHash: string, userId: string, staleBefore: Date): Promise<PublicTokenClaim | null> {
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
  async release(tokenHash: string): Promise<void> {
    await this.prisma.publicTokenExchange.deleteMany({ where: { tokenHash, completedAt: null } });
  }

  /**
   * Completes the exchange inside the transaction that stored `linked`: the connect response, built
   * here and nowhere else, is stored for replays and returned for this request's own answer.
   */
  async complete(tx: Transaction, tokenHash: string, linked: LinkedItem): Promise<ConnectResponse> {
    const response = toConnectResponse(linked);
    // Prisma's JSON input type wants an index signature, which the response's interface does not declare.
    const stored: object = response;
    await tx.publicTokenExchange.update({
      where: { tokenHash },
      data: { response: stored, completedAt: new Date() },
    });
    return response;
  }
}
