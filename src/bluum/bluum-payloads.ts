// Validates Bluum's replies before use: anything that is not its documented envelope is rejected here.
import { isSafeBluumId } from '../common/bluum-id';
import { parseWebUrl } from '../common/web-url';
import {
  BLUUM_ITEM_STATUSES,
  type BluumAccount,
  type BluumItem,
  type BluumItemStatus,
  type BluumLinkToken,
} from './bluum.types';

export class BluumPayloadError extends Error {
  override readonly name = 'BluumPayloadError';
}

export type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Bluum's documents use camelCase and snake_case for the same field.
export function field(obj: Json, camel: string): unknown {
  if (obj[camel] !== undefined) return obj[camel];
  return obj[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)];
}

// Limits match the database columns, so a reply we accept can always be stored.
export function text(obj: Json, name: string, max: number): string {
  const value = field(obj, name);
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new BluumPayloadError(`${name} is missing or not a string of 1-${max} characters`);
  }
  return value;
}

export function optionalText(obj: Json, name: string, max: number): string | null {
  const value = field(obj, name);
  return value === undefined || value === null || value === '' ? null : text(obj, name, max);
}

/** The data of a success envelope `{ status: "success", data }`; throws on anything else. */
export function successData(body: unknown): Json {
  if (!isObject(body) || body.status !== 'success' || !isObject(body.data)) {
    throw new BluumPayloadError('not a success envelope');
  }
  return body.data;
}

/**
 * The code of an error envelope, if the body is one. Bluum documents two: `{ status: "error", code,
 * message }` (its older pages) and `{ error: { type, code, message, param } }` (its current API
 * reference); either may come from any route.
 */
export function errorCode(body: unknown): string | null {
  if (!isObject(body)) return null;
  const envelope = body.status === 'error' ? body : isObject(body.error) ? body.error : null;
  return envelope !== null && typeof envelope.code === 'string' && envelope.code.length > 0
    ? envelope.code.slice(0, 64)
    : null;
}

/**
 * The parameter an error envelope blames (`error.param` of the current API reference), if it names one:
 * a 400 on connect that blames something other than the public token is not the token's fault.
 */
export function errorParam(body: unknown): string | null {
  if (!isObject(body) || !isObject(body.error)) return null;
  const param = body.error.param;
  return typeof param === 'string' && param.length > 0 ? param : null;
}

/**
 * `data` of a link-token reply. Frontends send the browser to `hostedLinkUrl` as it is, so it must be an
 * https URL: a `javascript:` one would run script on the frontend's page, an `http:` one would open the
 * bank login in the clear; and on a host Bluum and Plaid use (`hostedLinkHosts`, BLUUM_HOSTED_LINK_HOSTS),
 * so a Bluum reply tampered with on the way cannot send users to a look-alike bank login. The built-in
 * sandbox alone (`hostedLinkHosts` null, `httpAllowed`) serves its hosted page over plain http on its own
 * origin, in development.
 */
export function parseLinkToken(
  data: Json,
  {
    httpAllowed = false,
    hostedLinkHosts = null,
  }: { httpAllowed?: boolean; hostedLinkHosts?: ReadonlySet<string> | null } = {},
): BluumLinkToken {
  const linkToken = text(data, 'linkToken', 4096);
  const hostedLinkUrl = optionalText(data, 'hostedLinkUrl', 4096);
  if (hostedLinkUrl !== null) {
    const url = parseWebUrl(hostedLinkUrl);
    const protocol = url?.protocol;
    if (protocol !== 'https:' && !(httpAllowed && protocol === 'http:')) {
      throw new BluumPayloadError('hostedLinkUrl is not an https URL');
    }
    if (hostedLinkHosts !== null && !hostedLinkHosts.has(url?.hostname ?? '')) {
      throw new BluumPayloadError('hostedLinkUrl is not on a host of BLUUM_HOSTED_LINK_HOSTS');
    }
  }
  return { linkToken, hostedLinkUrl };
}

/**
 * An id this service later puts into a Bluum URL path (the item's `id`, in DELETE …/funding-sources/{id}):
 * one safe path segment (see `isSafeBluumId`), or the reply is not used at all.
 */
function optionalPathId(obj: Json, name: string, max: number): string | null {
  return optionalText(obj, name, max) === null ? null : pathId(obj, name, max);
}

/** A required id this service later puts into a Bluum URL path: see `optionalPathId`. */
export function pathId(obj: Json, name: string, max: number): string {
  const value = text(obj, name, max);
  if (!isSafeBluumId(value, max)) {
    throw new BluumPayloadError(`${name} is not a safe path segment (A-Z a-z 0-9 _ - and inner dots)`);
  }
  return value;
}

function parseStatus(value: unknown): BluumItemStatus {
  if (value === undefined || value === null) return 'ACTIVE';
  const status = BLUUM_ITEM_STATUSES.find((candidate) => candidate === value);
  if (status !== undefined) return status;
  throw new BluumPayloadError(`item status is not one of ${BLUUM_ITEM_STATUSES.join(', ')}`);
}

function parseAccount(value: unknown): BluumAccount {
  if (!isObject(value)) throw new BluumPayloadError('account is not an object');
  return {
    accountId: text(value, 'accountId', 255),
    // The item shape's transfers take plaid_options: no per-account funding source id is used.
    fundingSourceId: null,
    accountName: text(value, 'accountName', 255),
    accountType: text(value, 'accountType', 64),
    accountSubtype: optionalText(value, 'accountSubtype', 64),
    mask: text(value, 'mask', 16),
  };
}

export function parseItem(value: unknown): BluumItem {
  if (!isObject(value)) throw new BluumPayloadError('item is not an object');
  const accounts = field(value, 'accounts');
  if (!Array.isArray(accounts)) throw new BluumPayloadError('item has no accounts array');
  const parsed = accounts.map(parseAccount);
  if (new Set(parsed.map((a) => a.accountId)).size !== parsed.length) {
    throw new BluumPayloadError('item lists an account twice');
  }
  return {
    id: optionalPathId(value, 'id', 255),
    itemId: text(value, 'itemId', 255),
    institutionId: optionalText(value, 'institutionId', 255),
    institutionName: text(value, 'institutionName', 255),
    status: parseStatus(field(value, 'status')),
    accounts: parsed,
  };
}

/** `data: { item }` of a connect reply. */
export function parseConnectData(data: Json): BluumItem {
  return parseItem(data.item);
}

// Bluum's documents disagree on the list's key; all three are accepted.
const LIST_KEYS = ['items', 'fundingSources', 'funding_sources'] as const;

/**
 * `data` of a list reply: its items, under any of the documented keys. One malformed item (an unsafe
 * `id` included) rejects the whole reply: a list we cannot trust in part is not used in part.
 */
export function parseListData(data: Json): BluumItem[] {
  const key = LIST_KEYS.find((k) => Array.isArray(data[k]));
  if (!key) throw new BluumPayloadError(`list has none of ${LIST_KEYS.join(', ')}`);
  return (data[key] as unknown[]).map(parseItem);
}
