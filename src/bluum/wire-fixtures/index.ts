// Bluum's replies as its documents give them, one JSON file each beside this module. The gateway's specs
// parse them, and the Bluum stand-in (src/sandbox/bluum-stand-in.ts: the sandbox, the e2e fault server and
// npm run chaos) serves them, so a change to Bluum's format is made in these files once. Plain data
// handling: nothing here may import the gateway's parser, or the stand-in would share the very
// assumptions it should test.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type WireBody = Record<string, unknown>;

/**
 * Every fixture, by file name less `.json`. A DELETE's other documented success, 204, has no body and so
 * no file; any 2xx is a done delete, whatever it carries.
 */
export const WIRE_FIXTURES = [
  'link-token.sdk',
  'link-token.hosted',
  // The connect reply exactly as Bluum's bank-linking page shows it: only the guaranteed fields.
  'connect.seed',
  // Every field Bluum documents for an item, in each case its documents use.
  'connect.full',
  'connect.full.snake',
  'list.items',
  'list.items.snake',
  'list.fundingSources',
  'list.fundingSources.snake',
  'list.funding_sources',
  'list.funding_sources.snake',
  // Its internal API's 200 to a DELETE: a message and no data.
  'delete.200',
  // The two error envelopes: its older pages' and its current API reference's.
  'error.status',
  'error.object',
  // The investors generation (its current API reference): flat link-token replies, list envelopes with
  // one funding source per bank account, and its error envelope. A DELETE answers 204 with no body.
  'investors.link-token',
  'investors.link-token.hosted',
  'investors.connect',
  'investors.list',
  'investors.error',
] as const;

export type WireFixtureName = (typeof WIRE_FIXTURES)[number];

type ListKey = 'items' | 'fundingSources' | 'funding_sources';

export interface ListFormat {
  key: ListKey;
  snakeCase: boolean;
}

// Read once, parsed on every use: each caller gets its own copy to change.
const texts = new Map<WireFixtureName, string>();

/** A fresh copy of a fixture. The files sit beside this module in the sources and, copied by the build, in dist/. */
export function wireFixture(name: WireFixtureName): WireBody {
  let text = texts.get(name);
  if (text === undefined) {
    text = readFileSync(join(__dirname, `${name}.json`), 'utf8');
    texts.set(name, text);
  }
  return JSON.parse(text) as WireBody;
}

const toSnake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function isObject(value: unknown): value is WireBody {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every key renamed to snake_case, at every depth: how the fixtures' snake variants spell a camelCase body. */
function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [toSnake(k), snakeKeys(v)]));
}

/**
 * `values` written over `template`, each under the name the template already spells it with (camelCase
 * or snake_case), so callers name fields once whatever case the fixture uses. `undefined` removes a field.
 */
export function overlay(template: WireBody, values: Record<string, unknown>): WireBody {
  const out = structuredClone(template);
  for (const [name, value] of Object.entries(values)) {
    const key = name in out ? name : toSnake(name) in out ? toSnake(name) : name;
    if (value === undefined) delete out[key];
    else out[key] = value;
  }
  return out;
}

// The documented item every made-up item starts from.
const itemTemplate = (): WireBody => (wireFixture('connect.full').data as { item: WireBody }).item;

/**
 * The documented item with `values` over it; each of `values.accounts` goes over the documented account.
 * What a fake links when a test or a sandbox user does not say what.
 */
export function wireItem(values: Record<string, unknown> = {}): WireBody {
  const template = itemTemplate();
  const { accounts, ...rest } = values;
  const item = overlay(template, rest);
  if (Array.isArray(accounts)) {
    const account = (template.accounts as WireBody[])[0];
    item.accounts = accounts.map((a: Record<string, unknown>) => overlay(account, a));
  }
  return item;
}

/** Bluum's success envelope around `data`, as its documented replies carry it. */
export function successReply(data: unknown): WireBody {
  return { ...wireFixture('connect.full'), data };
}

/** A link-token reply: the hosted-link variant when there is a hosted URL, the SDK one otherwise. */
export function linkTokenReply(linkToken: string, hostedLinkUrl: string | null): WireBody {
  const body = wireFixture(hostedLinkUrl === null ? 'link-token.sdk' : 'link-token.hosted');
  return { ...body, data: overlay(body.data as WireBody, { linkToken, hostedLinkUrl }) };
}

/** A connect reply linking `item`, sent as given (a test may hand in a shape of its own). */
export function connectReply(item: object): WireBody {
  const body = wireFixture('connect.full');
  return { ...body, data: overlay(body.data as WireBody, { item }) };
}

/**
 * A list reply under `format.key`, from the fixture of that key and case. With `snakeCase`, the items
 * (camelCase, as the stand-in keeps them) are renamed to snake_case as that fixture's are; otherwise they are
 * sent as given.
 */
export function listReply(
  items: object[],
  format: ListFormat = { key: 'items', snakeCase: false },
): WireBody {
  const body = wireFixture(`list.${format.key}${format.snakeCase ? '.snake' : ''}`);
  const data = body.data as WireBody;
  return {
    ...body,
    data: { ...data, [format.key]: format.snakeCase ? items.map(snakeKeys) : items },
  };
}

/** The 200 Bluum's internal API answers a DELETE with. */
export function deleteReply(): WireBody {
  return wireFixture('delete.200');
}

/**
 * An error reply with this code and message, in the envelope of Bluum's older pages (`status`) or of its
 * current API reference (`object`); the rest of the envelope is the fixture's.
 */
export function errorReply(
  code: string,
  message: string,
  envelope: 'status' | 'object' = 'status',
): WireBody {
  if (envelope === 'status') return overlay(wireFixture('error.status'), { code, message });
  const body = wireFixture('error.object');
  return { ...body, error: overlay(body.error as WireBody, { code, message }) };
}

// ---- The investors generation ----

// The documented funding source (a bank account) every made-up one starts from.
const investorsRowTemplate = (): WireBody => (wireFixture('investors.connect').data as WireBody[])[0];

/** The documented investors funding source (one bank account) with `values` over it (snake_case names). */
export function investorsRow(values: Record<string, unknown> = {}): WireBody {
  return overlay(investorsRowTemplate(), values);
}

/** An investors list envelope (connect's reply and the list's) around `rows`. */
export function investorsList(rows: object[], hasMore = false, url?: string): WireBody {
  const body = wireFixture('investors.list');
  return { ...body, ...(url === undefined ? {} : { url }), has_more: hasMore, data: rows };
}

/** An investors link-token reply: flat, the hosted variant when there is a hosted URL. */
export function investorsLinkTokenReply(linkToken: string, hostedLinkUrl: string | null): WireBody {
  return overlay(
    wireFixture(hostedLinkUrl === null ? 'investors.link-token' : 'investors.link-token.hosted'),
    {
      link_token: linkToken,
      hosted_link_url: hostedLinkUrl,
    },
  );
}
