// A stand-in for Bluum over real HTTP: answers like Bluum does, records every request, and can be told
// to misbehave on the next call (status, body, delay, reset connection, or do the work then fail).
// Its replies are Bluum's documented bodies, filled in (the same fixtures the development sandbox serves).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  connectReply,
  deleteReply,
  errorReply,
  linkTokenReply,
  listReply,
  wireItem,
  type ListFormat,
} from '../../src/bluum/wire-fixtures';
import { type Api, testApi } from './api';
import { startTestApp, type TestApp } from './test-app';

export interface RecordedRequest {
  method: string;
  path: string;
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
  /** Perform the call (e.g. link the item) and then answer with the fault: a reply lost on the way. */
  afterWork?: boolean;
  /** Extra response headers (e.g. `retry-after`) sent with the fault's status. */
  headers?: Record<string, string>;
  /** Only a request for this Bluum account meets the fault; others pass it by. */
  forAccount?: string;
}

export interface FakeItem {
  id?: string;
  itemId: string;
  institutionId?: string;
  institutionName: string;
  status?: string;
  accounts: Record<string, unknown>[];
}

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

export class FakeBluum {
  readonly requests: RecordedRequest[] = [];
  readonly items = new Map<string, FakeItem[]>();
  /** How the list answers: under which key, and in which field case (Bluum's documents use each). */
  listFormat: ListFormat = { key: 'items', snakeCase: false };
  private readonly faults: Fault[] = [];
  private readonly connectReplies: FakeItem[] = [];
  private server!: Server;
  url = '';

  static async start(): Promise<FakeBluum> {
    const fake = new FakeBluum();
    fake.server = createServer((req, res) => void fake.handle(req, res));
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    return fake;
  }

  /** The next `times` calls answer with this fault. */
  failNext(fault: Fault, times = 1): void {
    for (let i = 0; i < times; i++) this.faults.push(fault);
  }

  /** The next successful connect links exactly this item (otherwise a fresh one-account item). */
  nextConnectLinks(item: FakeItem): void {
    this.connectReplies.push(item);
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

  reset(): void {
    this.listFormat = { key: 'items', snakeCase: false };
    this.requests.length = 0;
    this.faults.length = 0;
    this.connectReplies.length = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      // recorded as the raw string
    }
    const path = req.url ?? '';
    this.requests.push({ method: req.method ?? '', path, headers: req.headers, body, at: Date.now() });

    const index = this.faults.findIndex(
      (f) =>
        f.forAccount === undefined || path.startsWith(`/v1/accounts/${encodeURIComponent(f.forAccount)}/`),
    );
    const fault = index === -1 ? undefined : this.faults.splice(index, 1)[0];
    // unref: a delayed answer nobody waits for any more must not keep the test process alive.
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs).unref());
    if (fault?.reset) {
      req.socket.destroy();
      return;
    }
    const replacement = fault && (fault.status !== undefined || fault.body !== undefined) ? fault : undefined;
    if (replacement && !replacement.afterWork) return this.sendFault(res, replacement);
    this.route(req.method ?? '', path, body, res, replacement);
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

  private route(
    method: string,
    path: string,
    body: unknown,
    res: ServerResponse,
    fault: Fault | undefined,
  ): void {
    const match = /^\/v1\/accounts\/([^/]+)\/funding-sources(\/.*)?$/.exec(path);
    if (!match) return json(res, 404, errorReply('BLUM-404-000', 'no such route'));
    const account = decodeURIComponent(match[1]);
    const rest = match[2] ?? '';
    const reply = (status: number, body: object): void =>
      fault ? this.sendFault(res, fault) : json(res, status, body);

    if (method === 'POST' && rest === '/plaid/link-token') {
      const hosted = (body as { enable_hosted_link?: unknown })?.enable_hosted_link === true;
      const token = `link-sandbox-${randomUUID()}`;
      return reply(200, linkTokenReply(token, hosted ? `https://hosted.plaid.test/${token}` : null));
    }
    if (method === 'POST' && rest === '/plaid/connect') {
      // Otherwise the documented item, under fresh ids so each connect links a new one.
      const item =
        this.connectReplies.shift() ??
        (wireItem({
          id: randomUUID(),
          itemId: `item_${randomBytes(6).toString('hex')}`,
          accounts: [{ id: randomUUID(), accountId: `acc_${randomBytes(6).toString('hex')}` }],
        }) as unknown as FakeItem);
      this.items.set(account, [...(this.items.get(account) ?? []), item]);
      return reply(200, connectReply(item));
    }
    const one = /^\/([^/?]+)(\?.*)?$/.exec(rest);
    if (method === 'DELETE' && one) {
      const item = (this.items.get(account) ?? []).find((i) => i.id === decodeURIComponent(one[1]));
      if (!item) return json(res, 404, errorReply('BLUM-404-001', 'Funding source not found'));
      item.status = 'DISCONNECTED';
      return reply(200, deleteReply());
    }
    if (method === 'GET' && rest === '') {
      return reply(200, listReply(this.items.get(account) ?? [], this.listFormat));
    }
    return json(res, 404, errorReply('BLUM-404-000', 'no such route'));
  }
}

export interface AppWithFakeBluum {
  app: TestApp;
  bluum: FakeBluum;
}

/** A fake Bluum and the test app pointed at it, with `env` on top (a spec's usual beforeAll). */
export async function startAppWithFakeBluum(env: Record<string, string> = {}): Promise<AppWithFakeBluum> {
  const bluum = await FakeBluum.start();
  try {
    return { app: await startTestApp({ BLUUM_BASE_URL: bluum.url, ...env }), bluum };
  } catch (error) {
    await bluum.close();
    throw error;
  }
}

/** Closes what startAppWithFakeBluum started, the app first (it may still be calling Bluum). */
export async function closeAppWithFakeBluum({ app, bluum }: Partial<AppWithFakeBluum>): Promise<void> {
  await app?.close();
  await bluum?.close();
}

export interface FakeBluumSuite extends AppWithFakeBluum {
  api: Api;
}

/**
 * A describe block's app on a fake Bluum: started before its tests, closed after them, Bluum reset
 * before each. Read `suite.app`, `suite.bluum` and `suite.api` inside hooks and tests.
 */
export function useAppWithFakeBluum(env: Record<string, string> = {}): FakeBluumSuite {
  const suite = {} as FakeBluumSuite;
  beforeAll(async () => {
    Object.assign(suite, await startAppWithFakeBluum(env));
    suite.api = testApi(suite.app);
  });
  afterAll(() => closeAppWithFakeBluum(suite));
  beforeEach(() => suite.bluum.reset());
  return suite;
}
