// The one imitation of Bluum's bank-linking routes (link-token, connect, list, get, disconnect, behind
// Basic auth), in memory and free of any HTTP server, so that every stand-in answers alike: the sandbox
// serves it inside this app in development, the e2e specs' fault-injecting server
// (test/support/fake-bluum-server.ts) and `npm run chaos` serve it over their own HTTP(S) server and wrap
// it in faults. Bodies come from the wire fixtures. What differs between them is only how a public token
// becomes an item (`StandInLinking`): the sandbox plays Plaid's sandbox banks and hosted link, the specs
// link whatever they script.
//
// It serves both of Bluum's generations at once, as their paths differ (docs: BLUUM_API_VERSION):
// /v1/accounts/{id}/… answers in the item shape, /v1/investors/{inv_…}/… with one funding source per bank
// account in list envelopes. Items are kept once, per id in the path; the investors rows are derived from
// them, with what only a row has (its fs_ id, a status of its own once it is disconnected) kept beside.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import {
  connectReply,
  deleteReply,
  errorReply,
  investorsLinkTokenReply,
  investorsList,
  investorsRow,
  linkTokenReply,
  type ListFormat,
  listReply,
  overlay,
  successReply,
  type WireBody,
  wireFixture,
} from '../bluum/wire-fixtures';

/** An item as the stand-in keeps and lists it: camelCase, loose enough for a spec to hand in odd ones. */
export interface StandInItem {
  id?: string;
  itemId: string;
  institutionId?: string;
  institutionName: string;
  status?: string;
  accounts: Record<string, unknown>[];
  createdAt?: string;
  updatedAt?: string;
}

export interface StandInRequest {
  method: string;
  /** The path below Bluum's base URL, query included: `/v1/accounts/{id}/funding-sources…`. */
  path: string;
  authorization: string | undefined;
  /** The parsed JSON body (or the raw text when it was not JSON). */
  body: unknown;
  /** Where the stand-in is served (`http://host:port`), for a hosted link it serves itself. */
  origin: string;
}

/** `body` undefined: an answer with no body (a DELETE's 204). */
export interface StandInReply {
  status: number;
  body: WireBody | undefined;
}

export type TokenRefusal = 'invalid' | 'used' | 'expired';

/** How link tokens are issued and what a public token links. */
export interface StandInLinking {
  issueLinkToken(options: { hosted: boolean; completionRedirectUri: string | null; origin: string }): {
    linkToken: string;
    hostedLinkUrl: string | null;
  };
  exchange(publicToken: string): StandInItem | TokenRefusal;
}

export interface StandInOptions {
  linking: StandInLinking;
  /** The Basic header every call must carry (`basicAuthorization(key, secret)`); else any Basic will do. */
  authorization?: string;
  /** DELETE answers 204 with no body (Bluum's external API), not 200 with a message (its internal one). */
  emptyDeleteReply?: boolean;
}

const TOKEN_ERRORS: Record<TokenRefusal, [string, string]> = {
  invalid: ['BLUM-400-002', 'The public token is invalid.'],
  used: ['BLUM-400-003', 'The public token has already been exchanged.'],
  expired: ['BLUM-400-004', 'The public token has expired.'],
};

export type StandInGeneration = 'accounts' | 'investors';
export type StandInOperation = 'link-token' | 'connect' | 'list' | 'get' | 'disconnect';

/** What a call asks for, in either generation: the fault server keys its faults on it. */
export interface StandInRoute {
  generation: StandInGeneration;
  /** The Bluum account or investor id in the path, decoded. */
  owner: string;
  /** Null: a path under the owner that is none of Bluum's bank-linking routes. */
  operation: StandInOperation | null;
  /** The funding source a get or disconnect names, decoded. */
  id: string | null;
  query: URLSearchParams;
}

type OperationRoute = StandInRoute & { operation: StandInOperation };

const OWNER_PATH = /^\/v1\/(accounts|investors)\/([^/?]+)(\/[^?]*)?(?:\?(.*))?$/;
const FUNDING_SOURCES = '/funding-sources';

// What follows /funding-sources/ for each generation's two POSTs.
const POSTS: Record<StandInGeneration, Record<string, StandInOperation>> = {
  accounts: { 'plaid/link-token': 'link-token', 'plaid/connect': 'connect' },
  investors: { 'plaid/link-token': 'link-token', connect: 'connect' },
};

function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null; // malformed percent-encoding: no id Bluum could hold
  }
}

/**
 * The generation, owner and operation of a call (`path` below Bluum's base URL, query included), or null
 * for a path under neither `/v1/accounts/{id}` nor `/v1/investors/{id}`.
 */
export function standInRoute(method: string, path: string): StandInRoute | null {
  const match = OWNER_PATH.exec(path);
  const owner = match && decoded(match[2]);
  if (!match || owner === null) return null;
  const generation = match[1] as StandInGeneration;
  const route: StandInRoute = {
    generation,
    owner,
    operation: null,
    id: null,
    query: new URLSearchParams(match[4] ?? ''),
  };
  const rest = match[3] ?? '';
  if (rest !== FUNDING_SOURCES && !rest.startsWith(`${FUNDING_SOURCES}/`)) return route;
  const below = rest.slice(FUNDING_SOURCES.length + 1);
  if (method === 'POST') return { ...route, operation: POSTS[generation][below] ?? null };
  if (method === 'GET' && below === '') return { ...route, operation: 'list' };
  const id = decoded(below);
  if (below === '' || below.includes('/') || id === null) return route;
  if (method === 'GET') return { ...route, operation: 'get', id };
  if (method === 'DELETE') return { ...route, operation: 'disconnect', id };
  return route;
}

/**
 * Whether a completion URI is one a browser may be sent to: an absolute http: or https: URL. Anything
 * else (`javascript:`, `data:`, `file:`, a relative path) is refused when the link token is made.
 */
export function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const { protocol } = new URL(value);
  return protocol === 'http:' || protocol === 'https:';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const reply = (status: number, body: WireBody | undefined): StandInReply => ({ status, body });

/** The investors generation's error envelope, `param` naming the field at fault. */
function investorsError(code: string, message: string, param: string | null = null): WireBody {
  const body = wireFixture('investors.error');
  return { ...body, error: overlay(body.error as WireBody, { code, message, param }) };
}

/** A refusal in the generation's own error envelope (`param` is only the investors one's). */
function failure(
  generation: StandInGeneration,
  status: number,
  code: string,
  message: string,
  param: string | null = null,
): StandInReply {
  return reply(
    status,
    generation === 'investors' ? investorsError(code, message, param) : errorReply(code, message),
  );
}

/** What an investors row has of its own; the rest it takes from its item and bank account. */
interface RowState {
  id: string;
  created: number;
  /** Set once the row alone is disconnected; otherwise it has its item's status. */
  status?: string;
  updatedAt?: string;
}

const unixSeconds = (ms: number): number => Math.floor(ms / 1000);

/** A field of a spec's account, which may spell it in either case. */
function accountField(account: Record<string, unknown>, camel: string, snake: string): unknown {
  return account[camel] ?? account[snake] ?? null;
}

/** A field of an item, which a spec may hand in snake_case (as Bluum's documents sometimes spell it). */
const itemField = (item: StandInItem, camel: string, snake: string): unknown =>
  accountField(item as unknown as Record<string, unknown>, camel, snake);

// The funding-source types the investors list filters by; the stand-in links Plaid sources only.
const LIST_TYPES = new Set(['all', 'plaid', 'manual']);

export class BluumStandIn {
  /**
   * Bluum account or investor id → its items, every status included, as Bluum lists them. Specs may edit
   * them. The investors routes list one row per bank account of these.
   */
  readonly items = new Map<string, StandInItem[]>();
  /** How the list answers: under which key, in which field case (Bluum's documents use each). */
  listFormat: ListFormat = { key: 'items', snakeCase: false };
  private readonly expected: Buffer | null;
  // Keyed by the bank account as stored, so a row keeps its fs_ id as long as its item is held, and the
  // item shape the accounts generation sends stays exactly as linked.
  private readonly rowStates = new WeakMap<Record<string, unknown>, RowState>();

  constructor(private readonly options: StandInOptions) {
    this.expected = options.authorization === undefined ? null : Buffer.from(options.authorization);
  }

  /** Does the call's work and says what Bluum answers. */
  handle(request: StandInRequest): StandInReply {
    const route = standInRoute(request.method, request.path);
    const generation = route?.generation ?? 'accounts';
    if (!this.authorized(request.authorization)) {
      return failure(generation, 401, 'BLUM-401-001', 'Invalid API credentials.');
    }
    const { operation } = route ?? {};
    if (!route || !operation) return failure(generation, 404, 'BLUM-404-000', 'no such route');
    const known = { ...route, operation };
    return known.generation === 'investors' ? this.investors(known, request) : this.accounts(known, request);
  }

  list(owner: string): StandInItem[] {
    return this.items.get(owner) ?? [];
  }

  /** The investors generation's funding sources of `owner`: one per bank account of each item, disconnected ones included. */
  rows(owner: string): WireBody[] {
    return this.list(owner).flatMap((item) => item.accounts.map((account) => this.row(item, account)));
  }

  /**
   * What Bluum comes to see without anyone calling it: the item goes into `ERROR` (a changed bank
   * password), `DISCONNECTED` (revoked), or back to `ACTIVE`, and every investors row of it with it.
   * Found by Plaid's item id (our `itemId`, the rows' `provider_id`).
   */
  setStatus(owner: string, itemId: string, status: string): StandInItem | undefined {
    const item = this.list(owner).find((candidate) => candidate.itemId === itemId);
    if (item) this.changeStatus(item, status);
    return item;
  }

  private accounts(route: OperationRoute, request: StandInRequest): StandInReply {
    const { owner } = route;
    switch (route.operation) {
      case 'link-token':
        return this.linkToken('accounts', request.body, request.origin);
      case 'connect':
        return this.connect(owner, request.body);
      case 'list':
        return reply(200, listReply(this.list(owner), this.listFormat));
      case 'get':
      case 'disconnect': {
        const item = this.list(owner).find((candidate) => candidate.id === route.id);
        if (!item) return failure('accounts', 404, 'BLUM-404-001', 'Funding source not found.');
        // Bluum documents GET of one item but not its body: the item, in the success envelope.
        if (route.operation === 'get') return reply(200, successReply(item));
        this.changeStatus(item, 'DISCONNECTED');
        return this.options.emptyDeleteReply ? reply(204, undefined) : reply(200, deleteReply());
      }
    }
  }

  private investors(route: OperationRoute, request: StandInRequest): StandInReply {
    const { owner } = route;
    // Bluum refuses a raw UUID where a prefixed id is expected.
    if (!owner.startsWith('inv_')) return reply(400, wireFixture('investors.error'));
    switch (route.operation) {
      case 'link-token':
        return this.linkToken('investors', request.body, request.origin);
      case 'connect':
        return this.connectRows(owner, request.body);
      case 'list': {
        const type = route.query.get('type') ?? 'all';
        if (!LIST_TYPES.has(type)) {
          return failure('investors', 400, 'BLUM-400-001', 'type must be plaid, manual or all.', 'type');
        }
        return reply(200, investorsList(type === 'manual' ? [] : this.rows(owner), false, listUrl(owner)));
      }
      case 'get':
      case 'disconnect': {
        const found = this.findRow(owner, route.id as string);
        if (!found) return failure('investors', 404, 'BLUM-404-001', 'Funding source not found.');
        if (route.operation === 'get') return reply(200, this.row(found.item, found.account));
        this.disconnectRow(found.item, found.account);
        return reply(204, undefined);
      }
    }
  }

  private linkToken(generation: StandInGeneration, body: unknown, origin: string): StandInReply {
    const fields = isObject(body) ? body : {};
    // The investors generation documents enable_hosted_link as optional; the accounts one always takes it.
    const enable =
      fields.enable_hosted_link ?? (generation === 'investors' && isObject(body) ? false : undefined);
    if (typeof enable !== 'boolean') {
      return failure(
        generation,
        400,
        'BLUM-400-001',
        'enable_hosted_link must be a boolean.',
        'enable_hosted_link',
      );
    }
    const redirect = fields.completion_redirect_uri;
    if (redirect !== undefined && (typeof redirect !== 'string' || !isHttpUrl(redirect))) {
      return failure(
        generation,
        400,
        'BLUM-400-001',
        'completion_redirect_uri must be an absolute http(s) URL.',
        'completion_redirect_uri',
      );
    }
    const issued = this.options.linking.issueLinkToken({
      hosted: enable,
      completionRedirectUri: redirect ?? null,
      origin,
    });
    const build = generation === 'investors' ? investorsLinkTokenReply : linkTokenReply;
    return reply(200, build(issued.linkToken, issued.hostedLinkUrl));
  }

  /** Links the public token's item under `owner`, or says why not in the generation's envelope. */
  private link(
    generation: StandInGeneration,
    owner: string,
    publicToken: unknown,
  ): { item: StandInItem } | { refusal: StandInReply } {
    if (typeof publicToken !== 'string') {
      return {
        refusal: failure(generation, 400, 'BLUM-400-001', 'public_token is required.', 'public_token'),
      };
    }
    const item = this.options.linking.exchange(publicToken);
    if (typeof item === 'string') {
      return { refusal: failure(generation, 400, ...TOKEN_ERRORS[item], 'public_token') };
    }
    this.items.set(owner, [...this.list(owner), item]);
    return { item };
  }

  private connect(owner: string, body: unknown): StandInReply {
    const linked = this.link('accounts', owner, isObject(body) ? body.public_token : undefined);
    return 'refusal' in linked ? linked.refusal : reply(200, connectReply(linked.item));
  }

  private connectRows(owner: string, body: unknown): StandInReply {
    // Bluum's manual sources (bank details typed in) are not linked through Plaid; the stand-in has none.
    if (!isObject(body) || body.type !== 'plaid') {
      return failure('investors', 400, 'BLUM-400-001', 'type must be plaid.', 'type');
    }
    const linked = this.link('investors', owner, body.public_token);
    if ('refusal' in linked) return linked.refusal;
    const { item } = linked;
    const rows = item.accounts.map((account) => this.row(item, account));
    return reply(200, investorsList(rows, false, listUrl(owner)));
  }

  private findRow(
    owner: string,
    id: string,
  ): { item: StandInItem; account: Record<string, unknown> } | undefined {
    for (const item of this.list(owner)) {
      const account = item.accounts.find((candidate) => this.rowState(item, candidate).id === id);
      if (account) return { item, account };
    }
    return undefined;
  }

  /**
   * The row is disconnected and stays listed; when no row of its item is left active, Bluum revokes the
   * Plaid item and every row of it is disconnected.
   */
  private disconnectRow(item: StandInItem, account: Record<string, unknown>): void {
    const state = this.rowState(item, account);
    if (this.rowStatus(item, account) !== 'DISCONNECTED') {
      state.status = 'DISCONNECTED';
      state.updatedAt = new Date().toISOString();
    }
    const active = item.accounts.some((candidate) => this.rowStatus(item, candidate) === 'ACTIVE');
    if (!active) this.changeStatus(item, 'DISCONNECTED');
  }

  private row(item: StandInItem, account: Record<string, unknown>): WireBody {
    const state = this.rowState(item, account);
    return investorsRow({
      id: state.id,
      created: state.created,
      status: this.rowStatus(item, account).toLowerCase(),
      bank_name: itemField(item, 'institutionName', 'institution_name'),
      mask: accountField(account, 'mask', 'mask'),
      provider_id: itemField(item, 'itemId', 'item_id'),
      account_name: accountField(account, 'accountName', 'account_name'),
      account_type: accountField(account, 'accountType', 'account_type'),
      account_subtype: accountField(account, 'accountSubtype', 'account_subtype'),
      updated_at:
        state.updatedAt ??
        itemField(item, 'updatedAt', 'updated_at') ??
        new Date(state.created * 1000).toISOString(),
    });
  }

  /** The row's own state, made the first time the bank account is seen through the investors routes. */
  private rowState(item: StandInItem, account: Record<string, unknown>): RowState {
    let state = this.rowStates.get(account);
    if (!state) {
      const linkedAt = Date.parse(String(itemField(item, 'createdAt', 'created_at')));
      state = {
        id: `fs_${randomBytes(8).toString('hex')}`,
        created: unixSeconds(Number.isNaN(linkedAt) ? Date.now() : linkedAt),
      };
      this.rowStates.set(account, state);
    }
    return state;
  }

  private rowStatus(item: StandInItem, account: Record<string, unknown>): string {
    return this.rowStates.get(account)?.status ?? item.status ?? 'ACTIVE';
  }

  /** The item's status, and every row of it follows: a row's own status lasts only until its item changes. */
  private changeStatus(item: StandInItem, status: string): void {
    let changed = item.status !== status;
    for (const account of item.accounts) {
      const state = this.rowStates.get(account);
      if (state?.status === undefined) continue;
      changed ||= state.status !== status;
      delete state.status;
      delete state.updatedAt;
    }
    if (!changed) return;
    item.status = status;
    // Only where the item carries the field: a spec's own item is listed as it gave it.
    if (item.updatedAt !== undefined) item.updatedAt = new Date().toISOString();
  }

  private authorized(header: string | undefined): boolean {
    if (this.expected === null) return /^Basic \S+$/.test(header ?? '');
    const given = Buffer.from(header ?? '');
    return given.length === this.expected.length && timingSafeEqual(given, this.expected);
  }
}

const listUrl = (owner: string): string => `/v1/investors/${encodeURIComponent(owner)}/funding-sources`;
