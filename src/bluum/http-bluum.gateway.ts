// Bluum's accounts generation (/v1/accounts/{accountId}/…, one item with its accounts): its paths, bodies
// and replies. The HTTP itself (auth, retries, failures) is BluumHttp's, shared with the other generation.
import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../logging/request-context';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp, linkTokenBody, originOptions } from './bluum-http';
import { type BackgroundCall, BluumGateway } from './bluum.gateway';
import type { BluumItem, BluumLinkToken } from './bluum.types';
import { parseConnectData, parseLinkToken, parseListData, successData } from './bluum-payloads';

const LINK_TOKEN_PATH = '/accounts/{accountId}/funding-sources/plaid/link-token';
const CONNECT_PATH = '/accounts/{accountId}/funding-sources/plaid/connect';
const LIST_PATH = '/accounts/{accountId}/funding-sources';
const ITEM_PATH = '/accounts/{accountId}/funding-sources/{id}';

@Injectable()
export class HttpBluumGateway extends BluumGateway {
  constructor(
    private readonly http: BluumHttp,
    private readonly endpoint: BluumEndpoint,
  ) {
    super();
  }

  async createLinkToken(
    bluumAccountId: string,
    options: { enableHostedLink: boolean; completionRedirectUri?: string },
    request?: RequestContext,
  ): Promise<BluumLinkToken> {
    // Asking for another link token is harmless, so transient failures are retried.
    return this.http.call(
      'POST',
      LINK_TOKEN_PATH,
      bluumAccountId,
      linkTokenBody(options),
      { operation: 'link_token', retry: true, request },
      // Only this process's own sandbox may hand out a plain-http hosted page (development).
      (body) =>
        parseLinkToken(successData(body), {
          httpAllowed: this.endpoint.isSandbox,
          hostedLinkHosts: this.endpoint.hostedLinkHosts,
        }),
    );
  }

  async exchangePublicToken(
    bluumAccountId: string,
    publicToken: string,
    request?: RequestContext,
  ): Promise<BluumItem> {
    // Never retried: a repeat after a lost reply is Bluum's "token already used", not a second link.
    return this.http.call(
      'POST',
      CONNECT_PATH,
      bluumAccountId,
      { public_token: publicToken },
      { operation: 'connect', badRequestAs: 'PUBLIC_TOKEN_REJECTED', request },
      (body) => parseConnectData(successData(body)),
    );
  }

  async disconnectItem(
    bluumAccountId: string,
    item: { itemId: string; bluumFundingSourceId: string | null },
    request?: RequestContext,
  ): Promise<void> {
    // Bluum's minimal connect reply (its first documented shape) may lack Bluum's id for the item: its list has it.
    const bluumFundingSourceId =
      item.bluumFundingSourceId ??
      (await this.listItems(bluumAccountId, request)).find((listed) => listed.itemId === item.itemId)?.id ??
      null;
    // An item Bluum does not list (or lists without an id) has nothing left to disconnect there.
    if (bluumFundingSourceId === null) return;
    await this.disconnectFundingSource(bluumAccountId, bluumFundingSourceId, request);
  }

  /**
   * `DELETE …/funding-sources/{id}?type=plaid`: in this generation a funding source is a whole item (its
   * accounts have no funding source of their own, so the service only ever names an item's id here).
   */
  async disconnectFundingSource(
    bluumAccountId: string,
    fundingSourceId: string,
    request?: RequestContext,
  ): Promise<void> {
    // Never retried: the contract keeps writes other than link-token to one attempt.
    await this.http.call(
      'DELETE',
      ITEM_PATH,
      bluumAccountId,
      undefined,
      { operation: 'disconnect', id: fundingSourceId, query: '?type=plaid', isDelete: true, request },
      () => undefined,
    );
  }

  async listItems(bluumAccountId: string, origin?: RequestContext | BackgroundCall): Promise<BluumItem[]> {
    return this.http.call(
      'GET',
      LIST_PATH,
      bluumAccountId,
      undefined,
      { operation: 'list', ...originOptions(origin) },
      (body) => parseListData(successData(body)),
    );
  }
}
