// Bluum over real HTTP(S) for the e2e specs and `npm run chaos`: the Bluum stand-in the sandbox serves
// (src/sandbox/bluum-stand-in.ts), behind a server that records every request and can be told to
// misbehave: answer late, hang, cut the connection, answer something else, or do the work and then lose
// the reply. Any public token links the item a spec scripted, or the documented item under fresh ids.
// It serves both of Bluum's generations (/v1/accounts/… and /v1/investors/…), and a fault meets a call by
// its account or investor id and its operation, whichever generation's path it came by.
// Nothing here loads the app, so a script outside Jest can use it.
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { basicAuthorization } from '../../src/bluum/bluum-endpoint';
import { errorReply, type ListFormat, wireItem } from '../../src/bluum/wire-fixtures';
import {
  BluumStandIn,
  type StandInGeneration,
  type StandInItem,
  type StandInLinking,
  type StandInOperation,
  type StandInReply,
  standInRoute,
} from '../../src/sandbox/bluum-stand-in';
import type { WireBody } from '../../src/bluum/wire-fixtures';

export type { StandInOperation as BluumOperation } from '../../src/sandbox/bluum-stand-in';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Which generation's path it came by, and what it asked for; null for a path Bluum has no route at. */
  generation: StandInGeneration | null;
  operation: StandInOperation | null;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** When it arrived (Date.now()), for specs about request rates. */
  at: number;
}

/** Only `delayMs`: answer normally, late. With `status` or `body`: answer that instead. */
export interface Fault {
  /** Answer with this status (200 when only a body is given). */
  status?: number;
  /** Raw string sent as is, or an object sent as JSON. */
  body?: string | object;
  delayMs?: number;
  /** Destroy the socket without answering. */
  reset?: boolean;
  /** Never answer: the connection stays open until reset() or close() cuts it. */
  hang?: boolean;
  /** Perform the call (e.g. link the item) and then answer with the fault: a reply lost on the way. */
  afterWork?: boolean;
  /** Extra response headers (e.g. `retry-after`) sent with the fault's status. */
  headers?: Record<string, string>;
  /** Only a request for this Bluum account (or investor) meets the fault; others pass it by. */
  forAccount?: string;
  /** Only a call of this operation meets the fault, in either generation; others pass it by. */
  forOperation?: StandInOperation;
}

export type FakeItem = StandInItem;

export interface FakeBluumOptions {
  /** The key pair every call must carry as Basic auth; without it any Basic credentials will do. */
  credentials?: { apiKey: string; apiSecret: string };
  /** Serve HTTPS with this key and certificate (PEM), as production demands of Bluum's address. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** DELETE answers 204 with no body (Bluum's external API) instead of 200 with a message. */
  emptyDeleteReply?: boolean;
}

/** Links what a spec scripted with nextConnectLinks, otherwise the documented item under fresh ids. */
class ScriptedLinking implements StandInLinking {
  readonly next: FakeItem[] = [];

  issueLinkToken({ hosted }: { hosted: boolean }): { linkToken: string; hostedLinkUrl: string | null } {
    const linkToken = `link-sandbox-${randomUUID()}`;
    return { linkToken, hostedLinkUrl: hosted ? `https://hosted.plaid.com/${linkToken}` : null };
  }

  exchange(): FakeItem {
    return (
      this.next.shift() ??
      (wireItem({
        id: randomUUID(),
        itemId: `item_${randomBytes(6).toString('hex')}`,
        accounts: [{ id: randomUUID(), accountId: `acc_${randomBytes(6).toString('hex')}` }],
      }) as unknown as FakeItem)
    );
  }
}

export class FakeBluum {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: Fault[] = [];
  private standing: Fault | null = null;
  private readonly hanging = new Set<Socket>();
  private readonly linking = new ScriptedLinking();
  private readonly standIn: BluumStandIn;
  private server!: Server;
  url = '';

  private constructor(options: FakeBluumOptions) {
    this.standIn = new BluumStandIn({
      linking: this.linking,
      authorization:
        options.credentials && basicAuthorization(options.credentials.apiKey, options.credentials.apiSecret),
      emptyDeleteReply: options.emptyDeleteReply,
    });
  }

  static async start(options: FakeBluumOptions = {}): Promise<FakeBluum> {
    const fake = new FakeBluum(options);
    const handler = (req: IncomingMessage, res: ServerResponse): void => void fake.handle(req, res);
    fake.server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    // A caller that breaks the protocol or the TLS handshake is cut, never answered.
    fake.server.on('clientError', (_error, socket: Socket) => socket.destroy());
    fake.server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    const scheme = options.tls ? 'https' : 'http';
    fake.url = `${scheme}://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /**
   * Bluum account or investor id → its items, as Bluum lists them; a spec may change them to play
   * Bluum's side.
   */
  get items(): Map<string, FakeItem[]> {
    return this.standIn.items;
  }

  /** Bluum changes an item's status by itself (every investors row of it follows); see BluumStandIn.setStatus. */
  setStatus(owner: string, itemId: string, status: string): void {
    if (!this.standIn.setStatus(owner, itemId, status)) throw new Error(`Bluum holds no item ${itemId}`);
  }

  /** An investor's funding sources as the investors generation lists them: one row per bank account. */
  rows(investor: string): WireBody[] {
    return this.standIn.rows(investor);
  }

  /** The calls of this operation Bluum has received, in either generation. */
  calls(operation: StandInOperation): RecordedRequest[] {
    return this.requests.filter((request) => request.operation === operation);
  }

  /** How the list answers: under which key, and in which field case (Bluum's documents use each). */
  get listFormat(): ListFormat {
    return this.standIn.listFormat;
  }

  set listFormat(format: ListFormat) {
    this.standIn.listFormat = format;
  }

  /** The next `times` calls answer with this fault. */
  failNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** Every call that failNext's faults pass by meets this one, until reset(). */
  failAll(fault: Fault): void {
    this.standing = fault;
  }

  /** The next successful connect links exactly this item (otherwise a fresh one-account item). */
  nextConnectLinks(item: FakeItem): void {
    this.linking.next.push(item);
  }

  /** Resolves once Bluum has received `count` requests (for tests that must overlap a call in progress). */
  async received(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.requests.length < count) {
      if (Date.now() > deadline)
        throw new Error(`fake Bluum received ${this.requests.length} of ${count} requests`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /** Back to a well Bluum that has seen nothing; the items it holds stay. Hanging calls are cut. */
  reset(): void {
    this.listFormat = { key: 'items', snakeCase: false };
    this.requests.length = 0;
    this.faults.length = 0;
    this.standing = null;
    this.linking.next.length = 0;
    for (const socket of this.hanging) socket.destroy();
    this.hanging.clear();
  }

  close(): Promise<void> {
    this.reset();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of req) chunks.push(chunk as Buffer);
    } catch {
      return; // the caller went away mid-body
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // recorded as the raw string
    }
    const path = req.url ?? '';
    const method = req.method ?? '';
    const route = standInRoute(method, path);
    this.requests.push({
      method,
      path,
      generation: route?.generation ?? null,
      operation: route?.operation ?? null,
      headers: req.headers,
      body,
      at: Date.now(),
    });

    const fault = this.takeFault(route);
    if (fault?.hang) {
      this.hanging.add(req.socket);
      req.socket.once('close', () => this.hanging.delete(req.socket));
      return;
    }
    // Bluum does the work whether or not its caller still waits: the delay comes before the work, so a
    // caller that gave up may find it done later (what sync is for). unref: a delayed answer nobody
    // waits for any more must not keep the process alive.
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs).unref());
    if (fault?.reset) {
      req.socket.destroy();
      return;
    }
    const replacement = fault && (fault.status !== undefined || fault.body !== undefined) ? fault : undefined;
    if (replacement && !replacement.afterWork) return this.sendFault(res, replacement);
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    const answer = this.standIn.handle({
      method,
      path,
      authorization: req.headers.authorization,
      body,
      origin,
    });
    // A lost reply is lost only where the work was done; a refusal is answered as it is.
    if (replacement && answer.status < 300) return this.sendFault(res, replacement);
    this.send(res, answer);
  }

  private takeFault(route: ReturnType<typeof standInRoute>): Fault | undefined {
    const meets = (f: Fault): boolean =>
      (f.forAccount === undefined || route?.owner === f.forAccount) &&
      (f.forOperation === undefined || route?.operation === f.forOperation);
    const index = this.faults.findIndex(meets);
    if (index !== -1) return this.faults.splice(index, 1)[0];
    return this.standing && meets(this.standing) ? this.standing : undefined;
  }

  private send(res: ServerResponse, { status, body }: StandInReply): void {
    if (res.destroyed) return;
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private sendFault(res: ServerResponse, fault: Fault): void {
    if (res.destroyed) return;
    const status = fault.status ?? 200;
    if (typeof fault.body === 'string') {
      res.writeHead(status, { 'content-type': 'text/html', ...fault.headers });
      res.end(fault.body);
    } else {
      res.writeHead(status, { 'content-type': 'application/json', ...fault.headers });
      res.end(JSON.stringify(fault.body ?? errorReply(`BLUM-${status}-000`, 'injected fault')));
    }
  }
}
