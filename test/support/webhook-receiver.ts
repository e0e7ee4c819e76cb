// A deposit service's webhook endpoint for e2e specs: a real HTTP server on 127.0.0.1 that checks each
// request's signature with the `standardwebhooks` package (as a receiver would), records it, and answers
// as scripted: a status, a hang until released, or a connection cut mid-request.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { WebhookEventDto } from '../../src/webhooks/dto/webhook-event.dto';

/** A signing secret as WEBHOOK_SECRET takes it. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 42).toString('base64')}`;

/** The Standard Webhooks headers of a request, as a verifier takes them. */
export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export interface ReceivedEvent {
  /** The request's path and query, as the service asked for it. */
  target: string;
  webhookId: string;
  timestamp: string;
  /** The body and signature headers exactly as they came, to verify with another secret. */
  body: string;
  headers: SignatureHeaders;
  /** The verified body, or null when the signature did not verify. */
  payload: WebhookEventDto | null;
  /** What this receiver answered: an HTTP status, a cut connection, or nothing yet (left hanging). */
  answer: Answer;
}

type Answer = number | 'cut' | 'hang';

export class WebhookReceiver {
  readonly received: ReceivedEvent[] = [];
  private readonly script: Answer[] = [];
  private readonly hanging = new Set<ServerResponse>();
  private readonly verifier: Webhook;
  private waiters: (() => void)[] = [];
  private readonly server: Server = createServer((req, res) => void this.handle(req, res));
  private port = 0;
  // Receivers often take a token of their own in the query string: one the service must never show.
  readonly token = randomBytes(12).toString('hex');

  private constructor(secret: string) {
    this.verifier = new Webhook(secret);
  }

  /** A receiver that verifies with `secret`: its own entry of WEBHOOK_SECRET. */
  static async start(secret = TEST_WEBHOOK_SECRET): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(secret);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks?token=${this.token}`;
  }

  /** The next requests get these answers, in order; after them, 200. */
  answerNext(...answers: Answer[]): void {
    this.script.push(...answers);
  }

  /** Answers 200 to every request left hanging. */
  release(): void {
    for (const res of this.hanging) res.writeHead(200).end();
    this.hanging.clear();
  }

  reset(): void {
    this.release();
    this.received.length = 0;
    this.script.length = 0;
  }

  /** The events of one funding source this receiver accepted (answered 2xx), in the order they came. */
  accepted(fundingSourceId?: string): ReceivedEvent[] {
    return this.received.filter(
      (event) =>
        typeof event.answer === 'number' &&
        event.answer < 300 &&
        (fundingSourceId === undefined || event.payload?.data.id === fundingSourceId),
    );
  }

  /** Resolves once `done()` holds (checked on every request), or fails after `timeoutMs`. */
  async waitFor(done: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`webhook receiver: condition not met in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async close(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers: SignatureHeaders = {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    };
    let payload: ReceivedEvent['payload'] = null;
    try {
      payload = this.verifier.verify(body, headers) as ReceivedEvent['payload'];
    } catch {
      payload = null;
    }
    const answer = this.script.shift() ?? 200;
    this.received.push({
      target: req.url ?? '',
      webhookId: headers['webhook-id'],
      timestamp: headers['webhook-timestamp'],
      body,
      headers,
      payload,
      answer,
    });
    if (answer === 'cut') req.socket.destroy();
    else if (answer === 'hang') this.hanging.add(res);
    else res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
    for (const wake of this.waiters.splice(0)) wake();
  }
}
