import type { BluumItem, BluumLinkToken } from './bluum.types';

/**
 * The port to Bluum: both the contract and the DI token. Failures are thrown as AppError with the
 * contract's codes (BLUUM_UNAVAILABLE, BLUUM_BAD_RESPONSE, BLUUM_REQUEST_REJECTED, BLUUM_TIMEOUT,
 * PUBLIC_TOKEN_REJECTED, and BLUUM_ID_UNSAFE for a call refused before it was sent); nothing of the HTTP
 * client leaks past it.
 */
export abstract class BluumGateway {
  abstract createLinkToken(
    bluumAccountId: string,
    options: { enableHostedLink: boolean; completionRedirectUri?: string },
  ): Promise<BluumLinkToken>;

  abstract exchangePublicToken(bluumAccountId: string, publicToken: string): Promise<BluumItem>;

  /** Disconnects a whole item at Bluum (Bluum soft-deletes it). An item Bluum no longer knows counts as done. */
  abstract disconnectItem(bluumAccountId: string, bluumFundingSourceId: string): Promise<void>;

  /** Every item Bluum holds for the account, whatever its status. */
  abstract listItems(bluumAccountId: string): Promise<BluumItem[]>;
}
