// The one imitation of Bluum's bank-linking routes (link-token, connect, list, get, disconnect, behind
// Basic auth), in memory and free of any HTTP server, so that every stand-in answers alike: the sandbox
// serves it inside this app in development, the e2e specs' fault-injecting server
// (test/support/fake-bluum-server.ts) and `npm run chaos` serve it over their own HTTP(S) server and wrap
// it in faults. Bodies come from the wire fixtures. What differs between them is only how a public token
// becomes an item (`StandInLinking`): the sandbox plays Plaid's sandbox banks and hosted link, the specs
// link whatever they script.
import { timingSafeEqual } from 'node:crypto';
import {
  connectReply,
  deleteReply,
  errorReply,
  linkTokenReply,
  type ListFormat,
  listReply,
  successReply,
  type WireBody,
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

const ROUTE = /^\/v1\/accounts\/([^/?]+)\/funding-sources(?:\/([^?]*))?(?:\?.*)?$/;

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
const failure = (status: number, code: string, message: string): StandInReply =>
  reply(status, errorReply(code, message));

export class BluumStandIn {
  /** Bluum account id → its items, every status included, as Bluum lists them. Specs may edit them. */
  readonly items = new Map<string, StandInItem[]>();
  /** How the list answers: under which key, in which field case (Bluum's documents use each). */
  listFormat: ListFormat = { key: 'items', snakeCase: false };
  private readonly expected: Buffer | null;

  constructor(private readonly options: StandInOptions) {
    this.expected = options.authorization === undefined ? null : Buffer.from(options.authorization);
  }

  /** Does the call's work and says what Bluum answers. */
  handle(request: StandInRequest): StandInReply {
    if (!this.authorized(request.authorization)) {
      return failure(401, 'BLUM-401-001', 'Invalid API credentials.');
    }
    const match = ROUTE.exec(request.path);
    if (!match) return failure(404, 'BLUM-404-000', 'no such route');
    const account = decodeURIComponent(match[1]);
    const rest = match[2] ?? '';
    const { method, body } = request;
    if (method === 'POST' && rest === 'plaid/link-token') return this.linkToken(body, request.origin);
    if (method === 'POST' && rest === 'plaid/connect') return this.connect(account, body);
    if (method === 'GET' && rest === '') return reply(200, listReply(this.list(account), this.listFormat));
    if (rest === '' || rest.includes('/') || (method !== 'GET' && method !== 'DELETE')) {
      return failure(404, 'BLUM-404-000', 'no such route');
    }
    const item = this.list(account).find((candidate) => candidate.id === decodeURIComponent(rest));
    if (!item) return failure(404, 'BLUM-404-001', 'Funding source not found.');
    // Bluum documents GET of one item but not its body: the item, in the success envelope.
    if (method === 'GET') return reply(200, successReply(item));
    this.changeStatus(item, 'DISCONNECTED');
    return this.options.emptyDeleteReply ? reply(204, undefined) : reply(200, deleteReply());
  }

  list(account: string): StandInItem[] {
    return this.items.get(account) ?? [];
  }

  /**
   * What Bluum comes to see without anyone calling it: the item goes into `ERROR` (a changed bank
   * password), `DISCONNECTED` (revoked), or back to `ACTIVE`. Found by Plaid's item id (our `itemId`).
   */
  setStatus(account: string, itemId: string, status: string): StandInItem | undefined {
    const item = this.list(account).find((candidate) => candidate.itemId === itemId);
    if (item) this.changeStatus(item, status);
    return item;
  }

  private linkToken(body: unknown, origin: string): StandInReply {
    if (!isObject(body) || typeof body.enable_hosted_link !== 'boolean') {
      return failure(400, 'BLUM-400-001', 'enable_hosted_link must be a boolean.');
    }
    const redirect = body.completion_redirect_uri;
    if (redirect !== undefined && (typeof redirect !== 'string' || !isHttpUrl(redirect))) {
      return failure(400, 'BLUM-400-001', 'completion_redirect_uri must be an absolute http(s) URL.');
    }
    const issued = this.options.linking.issueLinkToken({
      hosted: body.enable_hosted_link,
      completionRedirectUri: redirect ?? null,
      origin,
    });
    return reply(200, linkTokenReply(issued.linkToken, issued.hostedLinkUrl));
  }

  private connect(account: string, body: unknown): StandInReply {
    if (!isObject(body) || typeof body.public_token !== 'string') {
      return failure(400, 'BLUM-400-001', 'public_token is required.');
    }
    const item = this.options.linking.exchange(body.public_token);
    if (typeof item === 'string') return failure(400, ...TOKEN_ERRORS[item]);
    this.items.set(account, [...this.list(account), item]);
    return reply(200, connectReply(item));
  }

  private changeStatus(item: StandInItem, status: string): void {
    if (item.status === status) return;
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
