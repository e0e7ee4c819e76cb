// Validates the investors generation's replies (Bluum's current API reference): flat link tokens, and
// list envelopes of funding sources, one per bank account, that this service groups back into items.
import { type BluumAccount, type BluumItem, type BluumItemStatus, type BluumLinkToken } from './bluum.types';
import {
  BluumPayloadError,
  field,
  isObject,
  type Json,
  optionalText,
  parseLinkToken,
  pathId,
  text,
} from './bluum-payloads';

/**
 * A link-token reply: flat `{ link_token, hosted_link_url }` as documented, or that inside `{ data }` or
 * a success envelope (the accounts generation's habit, which a proxy or an older deployment may keep).
 * The hosted URL follows parseLinkToken's rules (https, on an allowed host).
 */
export function parseInvestorsLinkToken(
  body: unknown,
  options: Parameters<typeof parseLinkToken>[1] = {},
): BluumLinkToken {
  if (!isObject(body)) throw new BluumPayloadError('link-token reply is not an object');
  if (body.status !== undefined && body.status !== 'success') {
    throw new BluumPayloadError('link-token reply is not a success');
  }
  return parseLinkToken(isObject(body.data) ? body.data : body, options);
}

// Bluum's lower-case row statuses; a Map, so a status of `constructor` is not found on a prototype.
const ROW_STATUSES = new Map<unknown, BluumItemStatus>([
  ['active', 'ACTIVE'],
  ['error', 'ERROR'],
  ['disconnected', 'DISCONNECTED'],
]);

/** One Plaid funding source (one bank account) with the item fields it repeats. */
export interface InvestorsRow {
  itemId: string;
  institutionName: string;
  account: BluumAccount & { status: BluumItemStatus };
}

/** The Plaid rows of one page of a list envelope, whether Bluum says there are more, and its size. */
export interface InvestorsPage {
  rows: InvestorsRow[];
  hasMore: boolean;
  /** How many funding sources the page held, of any type: the next page's offset moves by it. */
  entries: number;
}

function parseRow(row: Json): InvestorsRow {
  const status = ROW_STATUSES.get(field(row, 'status'));
  if (status === undefined) {
    throw new BluumPayloadError(`funding source status is not one of ${[...ROW_STATUSES.keys()].join(', ')}`);
  }
  // The row's id is the key Bluum knows the bank account by and what its DELETE takes in its path.
  const id = pathId(row, 'id', 255);
  return {
    itemId: text(row, 'providerId', 255),
    institutionName: text(row, 'bankName', 255),
    account: {
      accountId: id,
      fundingSourceId: id,
      status,
      accountName: text(row, 'accountName', 255),
      accountType: text(row, 'accountType', 64),
      accountSubtype: optionalText(row, 'accountSubtype', 64),
      mask: text(row, 'mask', 16),
    },
  };
}

/**
 * One page of funding sources: the list envelope `{ object: "list", data, has_more }` as documented, or
 * a bare array, `{ data }` without `object`, or a single funding source (an object with an `id` and a
 * `type`). Anything else is refused, never read as an empty list: a disconnect that found its item
 * missing from a list it misread would record a bank as gone that Bluum still holds. Rows of another type
 * than plaid (manual ones) are not this service's and are skipped unread; a row without a type, or one
 * malformed Plaid row, rejects the whole page.
 */
export function parseInvestorsPage(body: unknown): InvestorsPage {
  let entries: unknown[];
  let hasMore = false;
  if (Array.isArray(body)) entries = body;
  else if (isObject(body) && body.data !== undefined) {
    if (!Array.isArray(body.data)) throw new BluumPayloadError('data is not a list of funding sources');
    entries = body.data;
    const more = field(body, 'hasMore');
    if (more !== undefined && more !== null && typeof more !== 'boolean') {
      throw new BluumPayloadError('has_more is not a boolean');
    }
    hasMore = more === true;
  } else if (isObject(body) && body.id !== undefined && body.type !== undefined) entries = [body];
  else throw new BluumPayloadError('not a list of funding sources');

  const rows: InvestorsRow[] = [];
  for (const entry of entries) {
    if (!isObject(entry)) throw new BluumPayloadError('funding source is not an object');
    const type = field(entry, 'type');
    if (typeof type !== 'string') throw new BluumPayloadError('funding source has no type');
    if (type.toLowerCase() === 'plaid') rows.push(parseRow(entry));
  }
  if (hasMore && entries.length === 0) throw new BluumPayloadError('has_more on an empty page');
  return { rows, hasMore, entries: entries.length };
}

/**
 * Rows grouped into items by `provider_id` (Plaid's item id), in the order Bluum lists them. An item has
 * no Bluum id of its own (each account has its funding source id), nor an institution id (Bluum gives
 * none); its bank name is its first row's. Its status is the best of its rows': ACTIVE if any is active,
 * else ERROR if any is in error, else DISCONNECTED. A funding source listed twice rejects the lot.
 */
export function groupInvestorsRows(rows: readonly InvestorsRow[]): BluumItem[] {
  const items = new Map<string, BluumItem>();
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.account.accountId)) throw new BluumPayloadError('a funding source is listed twice');
    seen.add(row.account.accountId);
    let item = items.get(row.itemId);
    if (item === undefined) {
      item = {
        id: null,
        itemId: row.itemId,
        institutionId: null,
        institutionName: row.institutionName,
        status: 'DISCONNECTED',
        accounts: [],
      };
      items.set(row.itemId, item);
    }
    item.accounts.push(row.account);
  }
  for (const item of items.values()) item.status = itemStatus(item.accounts);
  return [...items.values()];
}

function itemStatus(accounts: readonly BluumAccount[]): BluumItemStatus {
  const statuses = new Set(accounts.map((account) => account.status));
  if (statuses.has('ACTIVE')) return 'ACTIVE';
  return statuses.has('ERROR') ? 'ERROR' : 'DISCONNECTED';
}

/** A connect reply: the funding sources of the one item just linked, as one item. */
export function parseInvestorsConnect(body: unknown): BluumItem {
  const items = groupInvestorsRows(parseInvestorsPage(body).rows);
  if (items.length === 0) throw new BluumPayloadError('connect reply has no Plaid funding source');
  if (items.length > 1) throw new BluumPayloadError('connect reply spans more than one Plaid item');
  return items[0];
}
