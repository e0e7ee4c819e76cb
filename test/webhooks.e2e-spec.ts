// Signed events for deposit services, over real HTTP end to end: the service's outbox, its dispatcher,
// and a receiver that verifies every signature with the `standardwebhooks` package.
import { PGlite } from '@electric-sql/pglite';
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { Client } from 'pg';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { type Api, testApi } from './support/api';
import { FakeBluum } from './support/fake-bluum';
import { expectTransferFields } from './support/generation';
import { sweepNow } from './support/sweep';
import { registerUser, startTestApp, type TestApp, uniqueUserId } from './support/test-app';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';
import { waitUntil } from './support/wait-until';

// The users whose banks this spec's reconciliation sweeps walk.
const SWEPT = 'webhooked';

describe('webhooks', () => {
  let bluum: FakeBluum;
  let receiver: WebhookReceiver;
  let app: TestApp;
  let api: Api;
  // One database for the app and, in the restart test, its successor.
  let shared: PGlite | undefined;
  const env = (): Record<string, string> => ({
    BLUUM_BASE_URL: bluum.url,
    WEBHOOK_URLS: receiver.url,
    WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
    // Retries a tenth of a second apart, doubling, so a spec sees several without waiting minutes.
    WEBHOOK_RETRY_BASE_MS: '100',
    // A receiver silent for a second has failed the attempt (10 s in production).
    WEBHOOK_TIMEOUT_MS: '1000',
    // On, for the sweep a spec runs itself (sweepNow); the timer's own first look is a minute away.
    RECONCILE_INTERVAL_SECONDS: '3600',
  });

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    receiver = await WebhookReceiver.start();
    shared = process.env.TEST_DATABASE_URL ? undefined : new PGlite('memory://');
    app = await startTestApp(env(), { sharedEmbeddedDatabase: shared });
    api = testApi(app);
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await bluum?.close();
    await shared?.close();
  });
  beforeEach(() => {
    bluum.reset();
    receiver.reset();
  });

  // The test database directly: the shared embedded one, or PostgreSQL.
  const queryDatabase = async <T>(text: string, values: unknown[]): Promise<T[]> => {
    if (shared) return (await shared.query<T>(text, values)).rows;
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const deliveriesOf = async (fundingSourceId: string) =>
    app.prisma.webhookDelivery.findMany({ where: { fundingSourceId }, orderBy: { seq: 'asc' } });

  it('tells of a link, signed, with the funding source as the API answers it', async () => {
    const { userId } = await registerUser(app);
    const linked = await api.as(userId).linkBank();
    const [source] = linked.fundingSources;

    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    const [event] = receiver.accepted(source.id);
    expect(event.payload).toEqual({
      type: 'funding_source.linked',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      sequence: 1,
      data: (await api.as(userId).get(source.id)).body,
    });
    // What a deposit service merges in, in the generation's form, travels with the event.
    expectTransferFields(event.payload!.data);
    // The webhook-id is the audit event's id: an admin can follow one to the other.
    const trail = (await api.admin().events(userId)).body.data;
    expect(trail.map((e) => e.id)).toContain(event.webhookId);
    expect(Math.abs(Number(event.timestamp) - Date.now() / 1000)).toBeLessThan(60);
    // Every request this receiver got verified.
    expect(receiver.received.every((r) => r.payload !== null)).toBe(true);
  });

  it('tells of a disconnect and of a status Bluum changed (found by sync)', async () => {
    const { userId, bluumAccountId } = await registerUser(app);
    const first = await api.as(userId).linkBank();
    const second = await api.as(userId).linkBank();
    const [broken, gone] = [first.fundingSources[0], second.fundingSources[0]];

    const item = bluum.items.get(bluumAccountId)?.find((i) => i.itemId === first.item.itemId);
    if (!item) throw new Error('the fake Bluum lost the item');
    item.status = 'ERROR';
    expect((await api.as(userId).sync()).status).toBe(200);
    expect((await api.as(userId).disconnect(gone.id)).status).toBe(200);

    await receiver.waitFor(
      () => receiver.accepted(broken.id).length === 2 && receiver.accepted(gone.id).length === 2,
    );
    const seen = (id: string) =>
      receiver.accepted(id).map((e) => [e.payload?.type, e.payload?.data.status, e.payload?.sequence]);
    expect(seen(broken.id)).toEqual([
      ['funding_source.linked', 'active', 1],
      ['funding_source.status_changed', 'error', 2],
    ]);
    expect(seen(gone.id)).toEqual([
      ['funding_source.linked', 'active', 1],
      ['funding_source.disconnected', 'disconnected', 2],
    ]);
  });

  it('tells of a status Bluum changed that only the reconciliation sweep found', async () => {
    const { userId, bluumAccountId } = await registerUser(app, uniqueUserId(SWEPT));
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    const [item] = bluum.items.get(bluumAccountId) ?? [];
    item.status = 'ERROR';

    expect(await sweepNow(app, SWEPT)).toMatchObject({ outcome: 'complete', failed: 0 });
    await receiver.waitFor(() => receiver.accepted(source.id).length === 2);
    const [, changed] = receiver.accepted(source.id);
    expect(changed.payload).toMatchObject({
      type: 'funding_source.status_changed',
      data: { id: source.id, status: 'error' },
    });
    const trail = (await api.admin().events(userId)).body.data;
    expect(trail.find((event) => event.id === changed.webhookId)).toMatchObject({
      actor: { subject: 'system' },
      details: { via: 'reconcile', from: 'active', to: 'error' },
    });
  });

  it('retries a receiver that answers 500 twice, with one webhook-id, and keeps later events behind it', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext(500, 500);
    const linked = await api.as(userId).linkBank();
    const [source] = linked.fundingSources;
    expect((await api.as(userId).disconnect(source.id)).status).toBe(200);

    await receiver.waitFor(() => receiver.accepted(source.id).length === 2);
    const ofSource = receiver.received.filter((r) => r.payload?.data.id === source.id);
    expect(ofSource.map((r) => [r.payload?.type, r.answer])).toEqual([
      ['funding_source.linked', 500],
      ['funding_source.linked', 500],
      ['funding_source.linked', 200],
      ['funding_source.disconnected', 200],
    ]);
    expect(new Set(ofSource.slice(0, 3).map((r) => r.webhookId)).size).toBe(1);
    expect(ofSource[3].webhookId).not.toBe(ofSource[0].webhookId);
    // The receiver has answered; the dispatcher records it a moment later.
    await waitForStatus(app, source.id, 'delivered', 2);
    const deliveries = await deliveriesOf(source.id);
    expect(deliveries.map((d) => [d.status, d.attempts, d.lastResponseStatus])).toEqual([
      ['delivered', 3, 200],
      ['delivered', 1, 200],
    ]);
  });

  it('retries a connection cut mid-request', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext('cut');
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    expect(await waitForStatus(app, source.id, 'delivered')).toMatchObject({ attempts: 2 });
  });

  it('retries an attempt the receiver never answers, once its time is up, with the same webhook-id', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext('hang');
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    const ofSource = receiver.received.filter((r) => r.payload?.data.id === source.id);
    expect(ofSource.map((r) => r.answer)).toEqual(['hang', 200]);
    expect(ofSource[1].webhookId).toBe(ofSource[0].webhookId);
    expect(await waitForStatus(app, source.id, 'delivered')).toMatchObject({ attempts: 2 });
  });

  it('never makes the request that caused an event wait for the receiver', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext('hang');
    // The link answers while its event's delivery is still waiting on the receiver.
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.received.some((r) => r.payload?.data.id === source.id));
    expect(receiver.accepted(source.id)).toEqual([]);
    const [delivery] = await deliveriesOf(source.id);
    expect(delivery.status).toBe('pending');
    receiver.release();
    await waitForStatus(app, source.id, 'delivered');
  });

  it('gives a failed delivery back to admins, who can send it again', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext(503, 503, 503, 503, 503, 503, 503, 503);
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(
      () => receiver.received.filter((r) => r.payload?.data.id === source.id).length >= 1,
    );
    // Its 24 hours of retries are over (the only way to get there in a test is to say so).
    await app.prisma.webhookDelivery.updateMany({
      where: { fundingSourceId: source.id },
      data: { giveUpAt: new Date(Date.now() - 1000) },
    });
    const failed = await waitForStatus(app, source.id, 'failed');

    const listed = await api.admin().webhookDeliveries({ status: 'failed', limit: 100 });
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((d) => d.id)).toContain(failed.id);
    expect(listed.body.data.every((d) => d.status === 'failed' && d.nextAttemptAt === null)).toBe(true);
    // The receiver's token, in its URL's query, went out with every attempt but is never shown.
    const origin = new URL(receiver.url).origin;
    expect(receiver.received.find((r) => r.payload?.data.id === source.id)?.target).toBe(
      `/hooks?token=${receiver.token}`,
    );
    expect(listed.body.data.find((d) => d.id === failed.id)?.url).toBe(`${origin}/hooks`);
    expect(JSON.stringify(listed.body)).not.toContain(receiver.token);

    receiver.reset();
    const retried = await api.admin().retryWebhookDelivery(failed.id);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      id: failed.id,
      status: 'pending',
      attempts: 0,
      eventId: failed.eventId,
      url: `${origin}/hooks`,
    });
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    expect(receiver.accepted(source.id)[0].webhookId).toBe(failed.eventId);
    await waitForStatus(app, source.id, 'delivered');
  });

  it('refuses to send an event again once a later one superseded it: no linked/active after disconnected', async () => {
    const { userId } = await registerUser(app);
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    expect((await api.as(userId).disconnect(source.id)).status).toBe(200);
    await receiver.waitFor(() => receiver.accepted(source.id).length === 2);
    await waitForStatus(app, source.id, 'delivered', 2);
    const [linked, disconnected] = await deliveriesOf(source.id);
    expect(linked.eventType).toBe('funding_source.linked');

    const stale = await api.admin().retryWebhookDelivery(linked.id);
    expect([stale.status, stale.error.code]).toEqual([409, 'WEBHOOK_DELIVERY_SUPERSEDED']);
    expect((await deliveriesOf(source.id))[0]).toMatchObject({ id: linked.id, status: 'delivered' });

    // The latest event goes again, with its own sequence, so a receiver can still order it.
    receiver.reset();
    expect((await api.admin().retryWebhookDelivery(disconnected.id)).status).toBe(200);
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    const ofSource = receiver.received.filter((r) => r.payload?.data.id === source.id);
    expect(ofSource.map((r) => [r.payload?.type, r.payload?.sequence])).toEqual([
      ['funding_source.disconnected', 2],
    ]);
  });

  // Malformed ids and queries, and who may call, are src/webhooks/admin-webhook-deliveries.controller.spec.ts's.
  it('refuses to retry a pending delivery, and an unknown one', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext('hang');
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    const [pending] = await deliveriesOf(source.id);

    const again = await api.admin().retryWebhookDelivery(pending.id);
    expect([again.status, again.error.code]).toEqual([409, 'WEBHOOK_DELIVERY_PENDING']);
    const unknown = await api.admin().retryWebhookDelivery('00000000-0000-4000-8000-000000000000');
    expect([unknown.status, unknown.error.code]).toEqual([404, 'WEBHOOK_DELIVERY_NOT_FOUND']);
    receiver.release();
  });

  it('cuts an attempt in flight short at shutdown and leaves it due at once for the next instance', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext('hang');
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.received.some((r) => r.payload?.data.id === source.id));
    await app.close();

    // Read with no instance running (the app's own client is closed with it).
    const [cut] = await queryDatabase<{
      status: string;
      attempts: number;
      last_error: string;
      due: boolean;
      event_id: string;
    }>(
      `SELECT status, attempts, last_error, next_attempt_at <= now() AS due, event_id
         FROM webhook_deliveries WHERE funding_source_id = $1`,
      [source.id],
    );
    expect(cut).toEqual({
      status: 'pending',
      attempts: 1,
      last_error: 'interrupted by shutdown',
      due: true,
      event_id: expect.any(String),
    });
    receiver.reset();
    app = await startTestApp(env(), { sharedEmbeddedDatabase: shared });
    api = testApi(app);
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    expect(receiver.accepted(source.id)[0].webhookId).toBe(cut.event_id);
  });

  it('loses nothing across a restart: what was not delivered goes out from the next instance', async () => {
    const { userId } = await registerUser(app);
    receiver.answerNext(...Array<number>(1000).fill(500));
    const [source] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(
      () => receiver.received.filter((r) => r.payload?.data.id === source.id).length >= 2,
    );
    const before = receiver.received.filter((r) => r.payload?.data.id === source.id);
    await app.close();

    receiver.reset();
    app = await startTestApp(env(), { sharedEmbeddedDatabase: shared });
    api = testApi(app);
    await receiver.waitFor(() => receiver.accepted(source.id).length === 1);
    const [after] = receiver.accepted(source.id);
    expect(after.payload?.type).toBe('funding_source.linked');
    // One event: every attempt, before the restart and after it, carries the same webhook-id.
    expect(new Set([...before, after].map((r) => r.webhookId)).size).toBe(1);
  });
});

/** The first of the funding source's deliveries in `status`, once `count` of them are. */
async function waitForStatus(
  app: TestApp,
  fundingSourceId: string,
  status: 'failed' | 'delivered',
  count = 1,
) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = await app.prisma.webhookDelivery.findMany({
      where: { fundingSourceId, status },
      orderBy: { seq: 'asc' },
    });
    if (found.length >= count) return found[0];
    if (Date.now() > deadline) throw new Error(`no ${status} delivery for ${fundingSourceId}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// A receiver that hangs holds only its own attempt: the dispatcher goes on claiming and delivering others.
describe('a receiver that hangs', () => {
  let bluum: FakeBluum;
  let receiver: WebhookReceiver;
  let app: TestApp;

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    receiver = await WebhookReceiver.start();
    // The production timeout: the hang lasts longer than this spec waits for the other event.
    app = await startTestApp({
      BLUUM_BASE_URL: bluum.url,
      WEBHOOK_URLS: receiver.url,
      WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      WEBHOOK_TIMEOUT_MS: '10000',
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await bluum?.close();
  });

  it("does not hold back another funding source's event", async () => {
    const api = testApi(app);
    const { userId } = await registerUser(app);
    receiver.answerNext('hang');
    const [stuck] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.received.some((r) => r.payload?.data.id === stuck.id));
    const [other] = (await api.as(userId).linkBank()).fundingSources;
    await receiver.waitFor(() => receiver.accepted(other.id).length === 1, 5_000);
    expect(receiver.accepted(stuck.id)).toEqual([]);
    receiver.release();
  });
});

// Each receiver has a secret of its own: what one receiver gets (and so could imitate) is signed with a
// key that no other receiver accepts.
describe('receivers with secrets of their own', () => {
  const SECRET_A = `whsec_${Buffer.alloc(32, 0xa).toString('base64')}`;
  const SECRET_B = `whsec_${Buffer.alloc(32, 0xb).toString('base64')}`;
  let bluum: FakeBluum;
  let receiverA: WebhookReceiver;
  let receiverB: WebhookReceiver;
  let app: TestApp;

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    receiverA = await WebhookReceiver.start(SECRET_A);
    receiverB = await WebhookReceiver.start(SECRET_B);
    app = await startTestApp({
      BLUUM_BASE_URL: bluum.url,
      WEBHOOK_URLS: `${receiverA.url},${receiverB.url}`,
      WEBHOOK_SECRET: `${SECRET_A},${SECRET_B}`,
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiverA?.close();
    await receiverB?.close();
    await bluum?.close();
  });

  it("signs each receiver's delivery with its own secret: A's secret does not verify B's delivery", async () => {
    const { userId } = await registerUser(app);
    const [source] = (await testApi(app).as(userId).linkBank()).fundingSources;
    // Each accepts only what verifies with its own secret.
    await receiverA.waitFor(() => receiverA.accepted(source.id).length === 1);
    await receiverB.waitFor(() => receiverB.accepted(source.id).length === 1);
    const [toA] = receiverA.accepted(source.id);
    const [toB] = receiverB.accepted(source.id);
    // One event, the same body to both.
    expect(toB.webhookId).toBe(toA.webhookId);
    expect(toB.body).toBe(toA.body);

    expect(new Webhook(SECRET_B).verify(toB.body, toB.headers)).toEqual(toB.payload);
    expect(() => new Webhook(SECRET_A).verify(toB.body, toB.headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(SECRET_B).verify(toA.body, toA.headers)).toThrow(WebhookVerificationError);
  });
});

// The receiver example of docs/deposit-services.md, run as written against the service: it must verify
// what we send.
describe('the documented receiver example', () => {
  const EXAMPLE = 'docs/webhook-receiver.mjs';
  let receiver: ChildProcess | undefined;
  let suite: { app: TestApp; bluum: FakeBluum } | undefined;
  let output = '';

  afterAll(async () => {
    await suite?.app.close();
    await suite?.bluum.close();
    receiver?.kill();
  });

  it('logs the event the service sent, and refuses a forged one', async () => {
    const port = await freePort();
    receiver = spawn(process.execPath, [EXAMPLE], {
      env: { ...process.env, PORT: String(port), WEBHOOK_SECRET: TEST_WEBHOOK_SECRET },
    });
    receiver.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const url = `http://127.0.0.1:${port}/`;
    await waitUntil(
      async () => (await fetch(url, { method: 'POST', body: '{}' }).catch(() => null)) !== null,
    );

    const forged = await fetch(url, {
      method: 'POST',
      body: '{"type":"funding_source.linked"}',
      headers: {
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
    });
    expect(forged.status).toBe(400);

    const bluum = await FakeBluum.start();
    suite = {
      bluum,
      app: await startTestApp({
        BLUUM_BASE_URL: bluum.url,
        WEBHOOK_URLS: url,
        WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
      }),
    };
    const { userId } = await registerUser(suite.app);
    const [source] = (await testApi(suite.app).as(userId).linkBank()).fundingSources;
    await waitUntil(() => output.includes(source.id));
    expect(output).toContain(`funding_source.linked ${source.id} active`);
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
