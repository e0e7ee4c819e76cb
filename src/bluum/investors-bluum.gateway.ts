// Bluum's investors generation (/v1/investors/{inv_…}/…, one funding source per bank account): its paths,
// bodies and replies, mapped onto the port's items. The HTTP itself is BluumHttp's, shared with the
// accounts generation.
import { Injectable } from '@nestjs/common';
import type { RequestContext } from '../logging/request-context';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp, linkTokenBody, originOptions } from './bluum-http';
import { type BackgroundCall, BluumGateway } from './bluum.gateway';
import type { BluumItem, BluumLinkToken } from './bluum.types';
import { BluumPayloadError } from './bluum-payloads';
import {
  groupInvestorsRows,
  type InvestorsRow,
  parseInvestorsConnect,
  parseInvestorsLinkToken,
  parseInvestorsPage,
} from './investors-payloads';

const LINK_TOKEN_PATH = '/investors/{investorId}/funding-sources/plaid/link-token';
const CONNECT_PATH = '/investors/{investorId}/funding-sources/connect';
const LIST_PATH = '/investors/{investorId}/funding-sources';
const FUNDING_SOURCE_PATH = '/investors/{investorId}/funding-sources/{id}';

// A list longer than this is not read at all rather than read in part: a missing item would look
// removed at Bluum to whatever compares the list with what is stored.
export const MAX_LIST_PAGES = 20;

@Injectable()
export class InvestorsBluumGateway extends BluumGateway {
  constructor(
    private readonly http: BluumHttp,
    private readonly endpoint: BluumEndpoint,
  ) {
    super();
  }

  async createLinkToken(
    investorId: string,
    options: { enableHostedLink: boolean; completionRedirectUri?: string },
    request?: RequestContext,
  ): Promise<BluumLinkToken> {
    // Asking for another link token is harmless, so transient failures are retried.
    return this.http.call(
      'POST',
      LINK_TOKEN_PATH,
      investorId,
      linkTokenBody(options),
      { operation: 'link_token', retry: true, request },
      // Only this process's own sandbox may hand out a plain-http hosted page (development).
      (body) =>
        parseInvestorsLinkToken(body, {
          httpAllowed: this.endpoint.isSandbox,
          hostedLinkHosts: this.endpoint.hostedLinkHosts,
        }),
    );
  }

  async exchangePublicToken(
    investorId: string,
    publicToken: string,
    request?: RequestContext,
  ): Promise<BluumItem> {
    // Never retried: a repeat after a lost reply is Bluum's "token already used", not a second link.
    return this.http.call(
      'POST',
      CONNECT_PATH,
      investorId,
      { type: 'plaid', public_token: publicToken },
      { operation: 'connect', badRequestAs: 'PUBLIC_TOKEN_REJECTED', request },
      parseInvestorsConnect,
    );
  }

  /**
   * Bluum disconnects one funding source (one bank account) per call, and revokes the Plaid item with its
   * last active one: a whole item is each of its accounts Bluum has not disconnected yet, one by one. The
   * item has no Bluum id of its own, so `bluumFundingSourceId` is not used: Bluum's list says which
   * accounts are left. A failure part-way leaves the rest for the next attempt, which lists again. (The
   * service disconnects an account Bluum holds as its own funding source by that one DELETE, the last one
   * of an item too; this is the port's whole-item call for an item stored without them.)
   */
  async disconnectItem(
    investorId: string,
    item: { itemId: string; bluumFundingSourceId: string | null },
    request?: RequestContext,
  ): Promise<void> {
    const listed = (await this.listItems(investorId, request)).find((found) => found.itemId === item.itemId);
    // An item Bluum does not list has nothing left to disconnect there.
    if (listed === undefined) return;
    for (const account of listed.accounts) {
      if (account.status === 'DISCONNECTED') continue;
      await this.disconnectFundingSource(investorId, account.fundingSourceId ?? account.accountId, request);
    }
  }

  /** One bank account: `DELETE …/funding-sources/{fs_…}?type=plaid`; any 2xx or a 404 is done. */
  async disconnectFundingSource(
    investorId: string,
    fundingSourceId: string,
    request?: RequestContext,
  ): Promise<void> {
    // Never retried: the contract keeps writes other than link-token to one attempt.
    await this.http.call(
      'DELETE',
      FUNDING_SOURCE_PATH,
      investorId,
      undefined,
      { operation: 'disconnect', id: fundingSourceId, query: '?type=plaid', isDelete: true, request },
      () => undefined,
    );
  }

  async listItems(investorId: string, origin?: RequestContext | BackgroundCall): Promise<BluumItem[]> {
    const rows: InvestorsRow[] = [];
    const seen = new Set<string>();
    let offset = 0;
    for (let page = 1; ; page++) {
      // Bluum's API overview documents limit/offset with has_more as its pagination (the funding-source
      // list documents only `type`): the next page is asked for by the offset of the funding sources read
      // so far. Each page is a call of its own (bulkhead, budget, retries, metrics).
      const query = offset === 0 ? '?type=plaid' : `?type=plaid&offset=${offset}`;
      const read: { items: BluumItem[] } | { next: number } = await this.http.call(
        'GET',
        LIST_PATH,
        investorId,
        undefined,
        { operation: 'list', query, ...originOptions(origin) },
        (body) => {
          const { rows: pageRows, hasMore, entries } = parseInvestorsPage(body);
          if (hasMore && page === MAX_LIST_PAGES) {
            throw new BluumPayloadError(`list longer than ${MAX_LIST_PAGES} pages`);
          }
          // A page seen before (an offset Bluum ignored) is refused at once, not after every page.
          for (const row of pageRows) {
            if (seen.has(row.account.accountId))
              throw new BluumPayloadError('a funding source is listed twice');
            seen.add(row.account.accountId);
          }
          rows.push(...pageRows);
          // Grouped within the last page's read, so a funding source found on two pages rejects that
          // reply as a malformed page would be (BLUUM_BAD_RESPONSE, logged and counted).
          return hasMore ? { next: offset + entries } : { items: groupInvestorsRows(rows) };
        },
      );
      if ('items' in read) return read.items;
      offset = read.next;
    }
  }
}
