import type { RequestContext } from '../logging/request-context';
import type { BluumItem, BluumLinkToken } from './bluum.types';

/**
 * The port to Bluum: both the contract and the DI token. Failures are thrown as AppError with the
 * contract's codes (BLUUM_UNAVAILABLE, BLUUM_BAD_RESPONSE, BLUUM_REQUEST_REJECTED, BLUUM_TIMEOUT,
 * PUBLIC_TOKEN_REJECTED, and BLUUM_ID_UNSAFE for a call refused before it was sent; BLUUM_UNAVAILABLE is a
 * BluumUnavailableError carrying Bluum's Retry-After when it sent one); nothing of the HTTP
 * client leaks past it. A call made for a request is given its RequestContext: the lines the call logs
 * carry the request's ids.
 */
export abstract class BluumGateway {
  abstract createLinkToken(
    bluumAccountId: string,
    options: { enableHostedLink: boolean; completionRedirectUri?: string },
    request?: RequestContext,
  ): Promise<BluumLinkToken>;

  abstract exchangePublicToken(
    bluumAccountId: string,
    publicToken: string,
    request?: RequestContext,
  ): Promise<BluumItem>;

  /**
   * Disconnects a whole item at Bluum (Bluum soft-deletes it): by the item's own Bluum id where it has one,
   * else as Bluum knows it (its list). An item Bluum no longer knows counts as done.
   */
  abstract disconnectItem(
    bluumAccountId: string,
    item: { itemId: string; bluumFundingSourceId: string | null },
    request?: RequestContext,
  ): Promise<void>;

  /**
   * Disconnects one bank account that Bluum holds as a funding source of its own (its investors
   * generation: `fs_…`), leaving the item's other accounts. One Bluum knows no more counts as done.
   */
  abstract disconnectFundingSource(
    bluumAccountId: string,
    fundingSourceId: string,
    request?: RequestContext,
  ): Promise<void>;

  /** Every item Bluum holds for the account, whatever its status: for a request, or for background work. */
  abstract listItems(bluumAccountId: string, origin?: RequestContext | BackgroundCall): Promise<BluumItem[]>;
}

/**
 * A call made by background work (the reconciliation sweep) rather than for a request: it waits for a
 * bulkhead slot while half are taken instead of being refused (see BluumBulkhead.runBackground), it is
 * one attempt (the sweep counts each request against its rate budget, and retries next sweep), a
 * 429/5xx's Retry-After reaches the caller (BluumUnavailableError.retryAfterMs), and `signal` abandons
 * it (shutdown).
 */
export interface BackgroundCall {
  background: true;
  signal?: AbortSignal;
}
