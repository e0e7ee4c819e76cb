// npm run chaos: the built service in production mode against faults only a real production process can
// show — a slow or hung Bluum while many users write, concurrent disconnects of one account, a database
// that fails over, two instances on a frozen database — one verdict line per scenario (PASS/FAIL and its
// figures), `chaos: N passed, M failed` at the end, and a non-zero exit code when anything failed. Faults
// one request shows (bad input, HTTP limits, a database that resets or freezes under one instance) are
// e2e specs: test/http-limits.e2e-spec.ts and test/database-faults.e2e-spec.ts.
//
// Set-up: a throwaway PostgreSQL database (migrated, dropped at the end), reached by the service only
// through bench/lib/fault-proxy.js; Bluum is the e2e specs' fault server around the one Bluum stand-in
// (test/support/fake-bluum-server.ts), served over HTTPS (production demands https:) with a self-signed
// certificate made by the `openssl` CLI at run time and trusted through NODE_EXTRA_CA_CERTS.
// Every request this script makes has a 30 s limit; a request that hits it counts as hung, and a request
// with no HTTP answer at all fails every scenario it belongs to. Every loop is bounded, every scenario
// has a time limit, and the whole run has one, so the script stops by itself whatever the service does.
//
// Settings (environment): CHAOS_SHORT=1 (the short form for CI: fewer users and requests, shorter
// faults), DATABASE_URL (default: a throwaway database created through CHAOS_ADMIN_DATABASE_URL, itself
// defaulting to postgresql://postgres@127.0.0.1:5432/postgres), CHAOS_ONLY (comma-separated scenario names),
// BLUUM_API_VERSION (accounts, the default, or investors: the generation of Bluum's API the service speaks
// and the stand-in answers, with users registered under ids of that generation's form).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { signHs256 } from '../src/auth/jwt';
import { FakeBluum } from '../test/support/fake-bluum-server';
import { type FaultProxy, startFaultProxy } from './lib/fault-proxy';
import {
  freePort,
  migrate,
  productionNodeFlags,
  selfSignedCertificate,
  serviceKeys,
  stopProcess,
  throwawayDatabase,
} from './lib/harness';

const ROOT = path.join(__dirname, '..');
const SHORT = process.env.CHAOS_SHORT === '1';
const ADMIN_URL = process.env.CHAOS_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const S = {
  stormUsers: SHORT ? 10 : 40,
  stormBluumDelayMs: 1800,
  pileupDeletes: SHORT ? 5 : 10,
  sameAccountBluumDelayMs: 7000,
  failoverMs: SHORT ? 2000 : 4000,
  twoInstanceUsers: SHORT ? 40 : 400,
  twoInstanceFreezeMs: 1500,
  readerLoops: 3,
  readerP99Ms: 250,
  requestTimeoutMs: 30_000,
  bluumTimeoutMs: 10_000,
};
// CHAOS_ONLY=storm,failover: only these scenarios (for working on one; not a verdict on the rest).
const ONLY = process.env.CHAOS_ONLY ? process.env.CHAOS_ONLY.split(',').map((name) => name.trim()) : null;
const SCENARIO_LIMIT_MS = 180_000;
const RUN_LIMIT_MS = SHORT ? 6 * 60_000 : 20 * 60_000;
const RUN = randomBytes(3).toString('hex');
const GENERATION = process.env.BLUUM_API_VERSION === 'investors' ? 'investors' : 'accounts';
/** A Bluum account id for the chaos user `id`, in the form its generation takes (`inv_…` for investors). */
const bluumAccountFor = (id: string): string => (GENERATION === 'investors' ? `inv_${id}` : `acct-${id}`);
// The key pair the service is given and the stand-in checks on every call.
const BLUUM_CREDENTIALS = { apiKey: 'chaos_key', apiSecret: 'chaos_secret' };

const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const now = (): number => performance.now();
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));
const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

// ---------------------------------------------------------------------------------------------------
// Types

/** One request's outcome; `status` 0 means no HTTP answer (`hung` when the time limit was hit). */
interface Result {
  label: string;
  status: number;
  ms: number;
  /** performance.now() times. */
  startedAt: number;
  endedAt: number;
  body: unknown;
  code?: string;
  retryAfter?: string | null;
  hung?: boolean;
  error?: string;
}

interface Outcome {
  ok: boolean;
  figures: string;
}

interface Service {
  name: string;
  child: ChildProcess;
  port: number;
  url: string;
  logPath: string;
}

/** A funding source as the service answers it (only the fields read here). */
interface FundingSource {
  id: string;
  itemId: string;
  status: string;
}

interface User {
  id: string;
  token: string;
  /** Its Bluum account id. */
  account: string;
  fundingSources: FundingSource[];
}

/** What seeding needs: where to call, and how to sign tokens. */
interface Signer {
  service: Service;
  tokenFor(sub: string): string;
  adminToken: string;
}

interface Context extends Signer {
  env: Record<string, string>;
  databaseUrl: string;
  proxy: FaultProxy;
  bluum: FakeBluum;
  reader: User;
  /** The second instance's log (two-instances-freeze). */
  logB: string;
}

interface Background {
  results: Result[];
  stop(): Promise<Result[]>;
}

type Scenario = (ctx: Context) => Promise<Outcome>;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `body[key]` when it is an array of funding sources (list's `data`, connect's `fundingSources`). */
function fundingSourcesIn(body: unknown, key: string): FundingSource[] | null {
  const list = isRecord(body) ? body[key] : undefined;
  return Array.isArray(list) ? (list as FundingSource[]) : null;
}

// ---------------------------------------------------------------------------------------------------
// Figures

/** Nearest-rank percentile of the latencies (ms); NaN when there are none. */
function percentile(results: Result[], p: number): number {
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const maxMs = (results: Result[]): number => results.reduce((max, r) => Math.max(max, r.ms), 0);
const ms = (value: number): string => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');
const seconds = (value: number): string => `${(value / 1000).toFixed(1)} s`;
const count = (results: Result[], predicate: (r: Result) => boolean): number =>
  results.filter(predicate).length;
const is500 = (r: Result): boolean => r.status === 500;
const noAnswer = (r: Result): boolean => r.status === 0;

/** "200×120 503×4 none×1" (none: no HTTP answer). */
function byStatus(results: Result[]): string {
  const counts = new Map<string, number>();
  for (const r of results) {
    const key = r.status === 0 ? (r.hung ? 'hung' : 'none') : String(r.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return 'none sent';
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, n]) => `${key}×${n}`)
    .join(' ');
}

/** "DELETE 200×38 503×2, connect 201×40" */
function byLabel(results: Result[]): string {
  const labels = [...new Set(results.map((r) => r.label))];
  return labels.map((label) => `${label} ${byStatus(results.filter((r) => r.label === label))}`).join(', ');
}

/** One status with the error code, if any: "409 DISCONNECT_IN_PROGRESS". */
const describe = (r: Result): string =>
  r.status === 0 ? `no answer (${r.error})` : `${r.status}${r.code ? ` ${r.code}` : ''}`;

/** A scenario's outcome: failed unless every check holds; the failed checks are named after the figures. */
function verdict(figures: string, checks: [boolean, string][]): Outcome {
  const failed = checks.filter(([ok]) => !ok).map(([, what]) => what);
  return {
    ok: failed.length === 0,
    figures: failed.length ? `${figures} | not met: ${failed.join('; ')}` : figures,
  };
}

// ---------------------------------------------------------------------------------------------------
// Requests to the service

interface RequestOptions {
  token?: string;
  body?: unknown;
  label?: string;
  timeoutMs?: number;
}

/**
 * One HTTP request with its own 30 s limit. A failure of the service is a result, not an exception:
 * `status` 0 means no HTTP answer (`hung` when the limit was hit).
 */
async function request(
  service: Service,
  method: string,
  urlPath: string,
  options: RequestOptions = {},
): Promise<Result> {
  const { token, body, label = `${method} ${urlPath}` } = options;
  const timeoutMs = options.timeoutMs ?? S.requestTimeoutMs;
  const startedAt = now();
  const result: Result = { label, status: 0, ms: 0, startedAt, endedAt: 0, body: undefined };
  try {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await fetch(`${service.url}${urlPath}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: payload,
      // AbortSignal.timeout() takes whole milliseconds only (a RangeError otherwise).
      signal: AbortSignal.timeout(Math.max(1, Math.ceil(timeoutMs))),
    });
    const text = await res.text();
    result.status = res.status;
    result.retryAfter = res.headers.get('retry-after');
    try {
      result.body = JSON.parse(text);
    } catch {
      result.body = text;
    }
    const code = isRecord(result.body) ? result.body.code : undefined;
    result.code = typeof code === 'string' ? code : undefined;
  } catch (error) {
    // fetch fails with a TypeError (its cause says why) or the signal's TimeoutError; anything else is
    // a bug in this script, not a failure of the service, and must not be counted as one.
    const name = error instanceof Error ? error.name : '';
    if (!(error instanceof TypeError) && name !== 'TimeoutError' && name !== 'AbortError') throw error;
    result.hung = name === 'TimeoutError';
    const cause = (error as { cause?: { code?: string } }).cause;
    result.error = result.hung ? 'hung' : (cause?.code ?? name);
  }
  result.endedAt = now();
  result.ms = result.endedAt - startedAt;
  return result;
}

/**
 * stop() for a background activity: ends it, waits for it, and throws what it threw (held until then,
 * so that a rejection is never unhandled while the activity runs).
 */
function stopper(promises: Promise<void>[], end: () => void, results: Result[]): () => Promise<Result[]> {
  const settled = promises.map((p) =>
    p.then(
      () => null,
      (error: unknown) => error,
    ),
  );
  return async () => {
    end();
    const errors = (await Promise.all(settled)).filter((error) => error !== null);
    if (errors.length) throw asError(errors[0]);
    return results;
  };
}

/** `loops` sequential GET loops on the reader's funding sources until stop(). */
function startReaders(service: Service, reader: User, loops = S.readerLoops): Background {
  const results: Result[] = [];
  let stopped = false;
  const runs = range(loops).map(async () => {
    while (!stopped) {
      const r = await request(service, 'GET', `/v1/users/${reader.id}/funding-sources`, {
        token: reader.token,
        label: 'reader',
      });
      results.push(r);
      // A dead service answers nothing at once: do not spin on it.
      if (r.status === 0) await sleep(50);
    }
  });
  return { results, stop: stopper(runs, () => (stopped = true), results) };
}

/** GET /health/ready every `everyMs`, whether or not the previous one has answered (at most 50 open). */
function startReadyPoller(service: Service, everyMs: number): Background {
  const results: Result[] = [];
  const errors: unknown[] = [];
  const open = new Set<Promise<void>>();
  const poll = (): void => {
    if (open.size >= 50) return;
    const pending: Promise<void> = request(service, 'GET', '/health/ready', { label: 'ready' })
      .then(
        (r) => void results.push(r),
        (error: unknown) => void errors.push(error),
      )
      .finally(() => open.delete(pending));
    open.add(pending);
  };
  poll();
  const timer = setInterval(poll, everyMs);
  return {
    results,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(open);
      if (errors.length) throw asError(errors[0]);
      return results;
    },
  };
}

/** A sequential GET /health/ready loop (for latency under load) until stop(). */
function startReadyLoop(service: Service): Background {
  const results: Result[] = [];
  let stopped = false;
  const run = (async () => {
    while (!stopped) {
      results.push(await request(service, 'GET', '/health/ready', { label: 'ready' }));
      await sleep(20);
    }
  })();
  return { results, stop: stopper([run], () => (stopped = true), results) };
}

async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    range(Math.min(limit, items.length)).map(async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await fn(items[index], index);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Seeding through the API

let userSeq = 0;

function expectStatus(result: Result, statuses: number[], what: string): Result {
  if (!statuses.includes(result.status)) {
    throw new Error(`seeding: ${what} answered ${describe(result)} (expected ${statuses.join('/')})`);
  }
  return result;
}

/** link-token, then (if it worked, as a frontend would) connect with a fresh public token. */
async function link(service: Service, user: User): Promise<{ results: Result[]; connect?: Result }> {
  const base = `/v1/users/${user.id}/funding-sources/plaid`;
  const results = [
    await request(service, 'POST', `${base}/link-token`, {
      token: user.token,
      body: {},
      label: 'link-token',
    }),
  ];
  if (results[0].status !== 201) return { results };
  const publicToken = `public-sandbox-${randomBytes(8).toString('hex')}`;
  const connect = await request(service, 'POST', `${base}/connect`, {
    token: user.token,
    body: { publicToken },
    label: 'connect',
  });
  results.push(connect);
  const linked = fundingSourcesIn(connect.body, 'fundingSources');
  if (connect.status === 201 && linked) user.fundingSources.push(...linked);
  return { results, connect };
}

/** A registered user (PUT with an admin token) with `items` banks linked, each of one account. */
async function newUser(ctx: Signer, prefix: string, items = 0, service = ctx.service): Promise<User> {
  const id = `chaos-${prefix}-${RUN}-${++userSeq}`;
  const user: User = { id, token: ctx.tokenFor(id), account: bluumAccountFor(id), fundingSources: [] };
  expectStatus(
    await request(service, 'PUT', `/v1/users/${id}`, {
      token: ctx.adminToken,
      body: { bluumAccountId: user.account },
    }),
    [200, 201],
    'PUT /v1/users/{id}',
  );
  for (let i = 0; i < items; i++) {
    const { results, connect } = await link(service, user);
    expectStatus(connect ?? results[0], [201], connect ? 'connect' : 'link-token');
  }
  return user;
}

/** Where our stored statuses (GET ?status=all) differ from the stand-in's items, one line each. */
async function compareWithBluum(ctx: Context, user: User): Promise<string[]> {
  const res = await request(ctx.service, 'GET', `/v1/users/${user.id}/funding-sources?status=all`, {
    token: user.token,
  });
  const ours = fundingSourcesIn(res.body, 'data');
  if (res.status !== 200 || !ours) return [`${user.id}: list answered ${describe(res)}`];
  const theirs = ctx.bluum.items.get(user.account) ?? [];
  const mismatches: string[] = [];
  for (const item of theirs) {
    const stored = ours.filter((f) => f.itemId === item.itemId);
    if (stored.length === 0)
      mismatches.push(`${user.id}: ${item.itemId} (${item.status} at Bluum) not stored`);
    for (const f of stored) {
      if (f.status !== item.status?.toLowerCase()) {
        mismatches.push(`${user.id}: ${item.itemId} ours ${f.status}, Bluum ${item.status}`);
      }
    }
  }
  for (const f of ours) {
    if (!theirs.some((item) => item.itemId === f.itemId))
      mismatches.push(`${user.id}: ${f.itemId} unknown to Bluum`);
  }
  return mismatches;
}

// ---------------------------------------------------------------------------------------------------
// Bluum over HTTPS, processes, logs

const children = new Set<ChildProcess>();

/** Starts an instance of the built service; resolves once /health/ready answers 200. */
async function startService(name: string, env: Record<string, string>, logPath: string): Promise<Service> {
  const port = await freePort();
  const out = fs.openSync(logPath, 'a');
  const child = spawn(process.execPath, [...productionNodeFlags(), 'dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  children.add(child);
  child.on('exit', () => children.delete(child));
  const service: Service = { name, child, port, url: `http://127.0.0.1:${port}`, logPath };
  const started = now();
  for (;;) {
    if (!alive(service)) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(logPath, 0)}`,
      );
    }
    const ready = await request(service, 'GET', '/health/ready', { timeoutMs: 2000 });
    if (ready.status === 200) return service;
    if (now() - started > 30_000) throw new Error(`${name} was not ready within 30 s:\n${tail(logPath, 0)}`);
    await sleep(50);
  }
}

const alive = (service: Service): boolean =>
  service.child.exitCode === null && service.child.signalCode === null;

/** Waits until /health/ready answers 200 (or `limitMs` passes); true when it did. */
async function waitReady(service: Service, limitMs: number): Promise<boolean> {
  const deadline = now() + limitMs;
  while (now() < deadline) {
    const r = await request(service, 'GET', '/health/ready', { timeoutMs: Math.max(100, deadline - now()) });
    if (r.status === 200) return true;
    await sleep(100);
  }
  return false;
}

const logSize = (file: string): number => {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
};

/** The last lines a log got since `offset`, indented, each cut to 240 characters. */
function tail(file: string, offset: number, lines = 8): string {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8').slice(offset);
  } catch {
    return '    | (no log)';
  }
  const last = text.split('\n').filter(Boolean).slice(-lines);
  if (last.length === 0) return `    | (${path.basename(file)}: nothing logged)`;
  return last.map((line) => `    | ${line.length > 240 ? `${line.slice(0, 240)}…` : line}`).join('\n');
}

// ---------------------------------------------------------------------------------------------------
// Scenarios

/** 1. Slow Bluum (1.8 s a call) while many users disconnect, link again and sync: reads stay fast. */
async function storm(ctx: Context): Promise<Outcome> {
  const users = await mapLimit(range(S.stormUsers), 10, () => newUser(ctx, 'storm', 1));
  ctx.bluum.failAll({ delayMs: S.stormBluumDelayMs });
  const callsBefore = ctx.bluum.requests.length;
  const readers = startReaders(ctx.service, ctx.reader);
  const writes: Result[] = [];
  const started = now();
  await Promise.all(
    users.map(async (user) => {
      const disconnect = `/v1/users/${user.id}/funding-sources/${user.fundingSources[0].id}`;
      writes.push(await request(ctx.service, 'DELETE', disconnect, { token: user.token, label: 'DELETE' }));
      writes.push(...(await link(ctx.service, user)).results);
      writes.push(
        await request(ctx.service, 'POST', `/v1/users/${user.id}/funding-sources/sync`, {
          token: user.token,
          label: 'sync',
        }),
      );
    }),
  );
  const elapsed = now() - started;
  const reads = await readers.stop();
  const calls = ctx.bluum.requests.length - callsBefore;
  const mismatches = (await mapLimit(users, 10, (user) => compareWithBluum(ctx, user))).flat();
  const outOfLine = new Set(mismatches.map((m) => m.split(':')[0])).size;
  const all = [...reads, ...writes];
  const p99 = percentile(reads, 99);
  return verdict(
    `${users.length} users in ${seconds(elapsed)}, Bluum calls ${calls}; ` +
      `reader p99 ${ms(p99)} max ${ms(maxMs(reads))} (${byStatus(reads)}); writes: ${byLabel(writes)}; ` +
      `500s ${count(all, is500)}; users out of line with Bluum ${outOfLine}/${users.length}` +
      (mismatches.length ? ` (e.g. ${mismatches.slice(0, 2).join(', ')})` : ''),
    [
      [p99 <= S.readerP99Ms, `reader p99 ≤ ${S.readerP99Ms} ms`],
      [count(all, is500) === 0, 'no 500'],
      [count(all, noAnswer) === 0, 'every request answered'],
      [mismatches.length === 0, "stored statuses match Bluum's"],
    ],
  );
}

/** 2. Bluum hangs; one user piles up concurrent DELETEs: reads and readiness stay fast. */
async function deletePileup(ctx: Context): Promise<Outcome> {
  const user = await newUser(ctx, 'pileup', S.pileupDeletes);
  ctx.bluum.failAll({ hang: true });
  const readers = startReaders(ctx.service, ctx.reader);
  const ready = startReadyLoop(ctx.service);
  const deletes = await Promise.all(
    user.fundingSources.map((f) =>
      request(ctx.service, 'DELETE', `/v1/users/${user.id}/funding-sources/${f.id}`, {
        token: user.token,
        label: 'DELETE',
      }),
    ),
  );
  const reads = await readers.stop();
  const readies = await ready.stop();
  const all = [...reads, ...readies, ...deletes];
  const readP99 = percentile(reads, 99);
  const readyP99 = percentile(readies, 99);
  return verdict(
    `DELETEs: ${deletes.map(describe).join(', ')} (slowest ${ms(maxMs(deletes))}); ` +
      `reader p99 ${ms(readP99)} (${byStatus(reads)}); ready p99 ${ms(readyP99)} (${byStatus(readies)}); 500s ${count(all, is500)}`,
    [
      [readP99 <= S.readerP99Ms, `reader p99 ≤ ${S.readerP99Ms} ms`],
      [readyP99 <= S.readerP99Ms, `ready p99 ≤ ${S.readerP99Ms} ms`],
      [count(all, is500) === 0, 'no 500'],
      [count(all, noAnswer) === 0, 'every request answered'],
    ],
  );
}

/** 3. Three concurrent DELETEs of one item's last account while Bluum takes 7 s: we and Bluum agree. */
async function sameAccount(ctx: Context): Promise<Outcome> {
  const user = await newUser(ctx, 'same', 1);
  const target = user.fundingSources[0];
  ctx.bluum.failAll({ delayMs: S.sameAccountBluumDelayMs });
  const callsBefore = ctx.bluum.requests.length;
  const deletes = await Promise.all(
    range(3).map(() =>
      request(ctx.service, 'DELETE', `/v1/users/${user.id}/funding-sources/${target.id}`, {
        token: user.token,
        label: 'DELETE',
      }),
    ),
  );
  // DELETEs only: the reconciliation sweep may list the account meanwhile.
  const calls = ctx.bluum.requests.slice(callsBefore).filter((r) => r.method === 'DELETE').length;
  ctx.bluum.reset();
  const ours = await request(ctx.service, 'GET', `/v1/users/${user.id}/funding-sources/${target.id}`, {
    token: user.token,
  });
  const theirs = (ctx.bluum.items.get(user.account) ?? []).find(
    (item) => item.itemId === target.itemId,
  )?.status;
  const ourStatus =
    ours.status === 200 && isRecord(ours.body)
      ? String(ours.body.status)
      : `(GET answered ${describe(ours)})`;
  return verdict(
    `DELETEs: ${deletes.map(describe).join(', ')}, DELETEs at Bluum ${calls}; ours ${ourStatus}, Bluum ${theirs}`,
    [
      [count(deletes, is500) === 0 && !is500(ours), 'no 500'],
      [count(deletes, noAnswer) === 0, 'every request answered'],
      [
        ours.status === 200 && (ourStatus === 'disconnected') === (theirs === 'DISCONNECTED'),
        'statuses agree',
      ],
    ],
  );
}

/**
 * 4. The database fails over: a demoted primary refuses every write (25006) and its sessions end, for
 * S.failoverMs; then it takes writes again, without ending the sessions opened meanwhile (still read-only:
 * the service must drop them itself). Writes 503, reads 200, readiness 503, then all back.
 */
async function failover(ctx: Context): Promise<Outcome> {
  const database = new URL(ctx.databaseUrl).pathname.slice(1);
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const readers = startReaders(ctx.service, ctx.reader);
  const ready = startReadyPoller(ctx.service, 200);
  const writes: Result[] = [];
  let writing = true;
  // A user registered, then a link token for it: the two writes every frontend makes first.
  const writer = (async () => {
    while (writing) {
      const id = `chaos-failover-${RUN}-${++userSeq}`;
      const put = await request(ctx.service, 'PUT', `/v1/users/${id}`, {
        token: ctx.adminToken,
        body: { bluumAccountId: bluumAccountFor(id) },
        label: 'PUT user',
      });
      writes.push(put);
      if (put.status === 201) {
        writes.push(
          await request(ctx.service, 'POST', `/v1/users/${id}/funding-sources/plaid/link-token`, {
            token: ctx.tokenFor(id),
            body: {},
            label: 'link-token',
          }),
        );
      }
      await sleep(50);
    }
  })();
  let faultAt = now();
  try {
    await sleep(1000);
    faultAt = now();
    await admin.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    await sleep(S.failoverMs);
  } finally {
    await admin.query(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
    await admin.end();
  }
  const healAt = now();
  await sleep(5000);
  writing = false;
  await writer;
  const reads = await readers.stop();
  const polls = await ready.stop();
  const all = [...reads, ...polls, ...writes];
  // What was asked well inside the fault (the sessions ended at its start may fail what was in flight).
  const inside = (r: Result): boolean => r.startedAt >= faultAt + 500 && r.endedAt <= healAt;
  const writesInside = writes.filter(inside);
  const readsInside = reads.filter(inside);
  const dishonest = count(
    all,
    (r) => r.status === 503 && r.label !== 'ready' && (!r.retryAfter || r.code !== 'DATABASE_UNAVAILABLE'),
  );
  const downDuringFault = polls.some((r) => r.status === 503 && r.endedAt >= faultAt && r.endedAt <= healAt);
  const readyAgain = Math.min(
    ...polls.filter((r) => r.status === 200 && r.endedAt >= healAt).map((r) => r.endedAt - healAt),
  );
  const writesAgain = Math.min(
    ...writes
      .filter((r) => r.status >= 200 && r.status < 300 && r.startedAt >= healAt)
      .map((r) => r.endedAt - healAt),
  );
  const lastFailed = writes
    .filter((r) => r.startedAt >= healAt && r.status >= 300)
    .map((r) => r.endedAt - healAt);
  const settled = lastFailed.length === 0 ? 0 : Math.max(...lastFailed);
  return verdict(
    `${seconds(S.failoverMs)} read-only: writes inside ${byStatus(writesInside)}, reads inside ${byStatus(readsInside)}; ` +
      `ready 503 during the fault: ${downDuringFault ? 'yes' : 'no'}, 200 again ${Number.isFinite(readyAgain) ? `${ms(readyAgain)} after` : 'never'}; ` +
      `writes 2xx again ${Number.isFinite(writesAgain) ? `${ms(writesAgain)} after` : 'never'}, last failed write ${ms(settled)} after; ` +
      `500s ${count(all, is500)}, 503s without Retry-After + DATABASE_UNAVAILABLE ${dishonest}`,
    [
      [count(all, is500) === 0, 'no 500'],
      [count(all, noAnswer) === 0, 'every request answered'],
      [dishonest === 0, 'every 503 has Retry-After and DATABASE_UNAVAILABLE'],
      [writesInside.length > 0 && writesInside.every((r) => r.status === 503), 'writes 503 during the fault'],
      [readsInside.length > 0 && readsInside.every((r) => r.status === 200), 'reads 200 during the fault'],
      [downDuringFault, 'ready 503 during the fault'],
      [readyAgain <= 2000, 'ready 200 within 2 s after'],
      [settled <= 3000, 'every write 2xx from 3 s after'],
    ],
  );
}

/** Polls until `service` answers ready 200 and a reader GET 200, for at most `limitMs`; ms taken or null. */
async function recovery(
  service: Service,
  reader: User,
  since: number,
  limitMs: number,
): Promise<number | null> {
  const deadline = since + limitMs;
  while (now() < deadline) {
    const timeoutMs = Math.max(100, deadline - now());
    const ready = await request(service, 'GET', '/health/ready', { timeoutMs });
    const read = await request(service, 'GET', `/v1/users/${reader.id}/funding-sources`, {
      token: reader.token,
      timeoutMs,
    });
    if (ready.status === 200 && read.status === 200 && read.endedAt <= deadline) return read.endedAt - since;
    await sleep(200);
  }
  return null;
}

/** 5. Two instances, many users linking and disconnecting, the database frozen 1.5 s: both recover. */
async function twoInstancesFreeze(ctx: Context): Promise<Outcome> {
  const second = await startService('service-b', ctx.env, ctx.logB);
  const instances = [ctx.service, second];
  try {
    const users = await mapLimit(range(S.twoInstanceUsers), 20, () => newUser(ctx, 'twin', 0));
    const results: Result[] = [];
    const spreadMs = 2500;
    const work = Promise.all(
      users.map(async (user, i) => {
        const service = instances[i % 2];
        // Spread over the run so that some start before, some during and some after the freeze.
        await sleep(Math.random() * spreadMs);
        const { results: linked, connect } = await link(service, user);
        results.push(...linked);
        if (connect?.status === 201 && user.fundingSources[0]) {
          results.push(
            await request(
              service,
              'DELETE',
              `/v1/users/${user.id}/funding-sources/${user.fundingSources[0].id}`,
              {
                token: user.token,
                label: 'DELETE',
              },
            ),
          );
        }
      }),
    );
    work.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    await sleep(500);
    ctx.proxy.freeze();
    await sleep(S.twoInstanceFreezeMs);
    ctx.proxy.heal();
    const healAt = now();
    const recovered = await Promise.all(
      instances.map((service) => recovery(service, ctx.reader, healAt, 5000)),
    );
    await work;
    const hung = count(results, (r) => r.hung === true);
    return verdict(
      `${users.length} users on 2 instances, ${seconds(S.twoInstanceFreezeMs)} freeze: ${byLabel(results)}; ` +
        `ready + read 200 after heal: ${recovered.map((t) => (t === null ? 'not within 5 s' : ms(t))).join(', ')}; ` +
        `500s ${count(results, is500)}, hung ${hung}`,
      [
        [recovered.every((t) => t !== null), 'both instances ready and reading within 5 s after heal'],
        [hung === 0, 'none hung > 30 s'],
        [count(results, noAnswer) === 0, 'every request answered'],
        [count(results, is500) === 0, 'no 500'],
        [alive(second), 'second instance still running'],
      ],
    );
  } finally {
    await stopProcess(second.child);
  }
}

const SCENARIOS: [string, Scenario][] = [
  ['storm', storm],
  ['delete-pileup', deletePileup],
  ['same-account', sameAccount],
  ['failover', failover],
  ['two-instances-freeze', twoInstancesFreeze],
];

// ---------------------------------------------------------------------------------------------------

async function runScenario(ctx: Context, name: string, scenario: Scenario): Promise<boolean> {
  const logs = [ctx.service.logPath, ctx.logB].map((file) => ({ file, offset: logSize(file) }));
  const started = now();
  let outcome: Outcome;
  let timer: NodeJS.Timeout | undefined;
  try {
    const running = scenario(ctx);
    running.catch(() => undefined); // if the time limit wins, a later failure is of no interest
    outcome = await Promise.race([
      running,
      new Promise<Outcome>((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, figures: `did not finish within ${seconds(SCENARIO_LIMIT_MS)}` }),
          SCENARIO_LIMIT_MS,
        );
      }),
    ]);
  } catch (error) {
    outcome = { ok: false, figures: `error: ${errorText(error)}` };
  } finally {
    clearTimeout(timer);
  }
  // Back to a well state for the next scenario, whatever this one left behind.
  ctx.bluum.reset();
  ctx.proxy.heal();
  if (!alive(ctx.service)) {
    const { exitCode, signalCode } = ctx.service.child;
    outcome = { ok: false, figures: `${outcome.figures} | the service exited (${exitCode ?? signalCode})` };
    ctx.service = await startService('service', ctx.env, ctx.service.logPath);
  } else if (!(await waitReady(ctx.service, 15_000))) {
    outcome = { ok: false, figures: `${outcome.figures} | not ready 15 s after the scenario` };
  }
  log(`${outcome.ok ? 'PASS' : 'FAIL'} ${name}: ${outcome.figures} [${seconds(now() - started)}]`);
  if (!outcome.ok) {
    for (const { file, offset } of logs) {
      if (logSize(file) > offset)
        log(`  ${path.basename(file)}, last lines during ${name}:\n${tail(file, offset)}`);
    }
  }
  return outcome.ok;
}

const cleanups: (() => unknown)[] = [];
let cleaning: Promise<void> | null = null;
/** Stops the services, the proxy and the stand-in, drops the database: once, in reverse order of set-up. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        process.stderr.write(`chaos: clean-up step failed: ${errorText(error)}\n`);
      }
    }
  })();
  return cleaning;
}

async function main(): Promise<void> {
  const unknown = (ONLY ?? []).filter((name) => !SCENARIOS.some(([known]) => known === name));
  if (unknown.length) throw new Error(`CHAOS_ONLY: no scenario named ${unknown.join(', ')}`);
  log(
    `chaos${SHORT ? ' (CHAOS_SHORT=1)' : ''}: storm ${S.stormUsers} users, Bluum ${S.stormBluumDelayMs} ms; ` +
      `pileup ${S.pileupDeletes} DELETEs; failover ${seconds(S.failoverMs)}; ` +
      `two instances ${S.twoInstanceUsers} users, freeze ${seconds(S.twoInstanceFreezeMs)}; ` +
      `reader p99 target ${S.readerP99Ms} ms, ${S.readerLoops} loops; request limit ${seconds(S.requestTimeoutMs)}`,
  );
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  log('Building the service (npm run build) …');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bluum-chaos-'));
  let keepTmp = false;
  cleanups.push(() => !keepTmp && fs.rmSync(tmp, { recursive: true, force: true }));
  const certificate = selfSignedCertificate(tmp);

  const db = await throwawayDatabase({
    adminUrl: ADMIN_URL,
    prefix: 'bluum_chaos',
    adminVariable: 'CHAOS_ADMIN_DATABASE_URL',
  });
  cleanups.push(() => db.drop());
  migrate(db.url);
  const upstream = new URL(db.url);
  const proxy = await startFaultProxy({
    upstreamHost: upstream.hostname || '127.0.0.1',
    upstreamPort: Number(upstream.port || 5432),
  });
  cleanups.push(() => proxy.close());
  const bluum = await FakeBluum.start({
    credentials: BLUUM_CREDENTIALS,
    tls: { key: fs.readFileSync(certificate.key), cert: fs.readFileSync(certificate.cert) },
    emptyDeleteReply: true,
  });
  cleanups.push(() => bluum.close());

  const secret = randomBytes(36).toString('base64url'); // 48 characters
  // Production takes no admin from AUTH_JWT_SECRET: the run's admin has a service key of its own.
  const services = serviceKeys([{ client: `chaos-admin-${RUN}`, admin: true }]);
  const env = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: proxy.url(db.url),
    BLUUM_BASE_URL: bluum.url,
    BLUUM_API_KEY: BLUUM_CREDENTIALS.apiKey,
    BLUUM_API_SECRET: BLUUM_CREDENTIALS.apiSecret,
    AUTH_JWT_SECRET: secret,
    AUTH_SERVICE_KEYS: services.env,
    // The reader stands for a deposit service reading in a loop: above an end user's budget of requests.
    REQUEST_RATE_LIMIT_PER_MINUTE: '1000000',
    BLUUM_TIMEOUT_MS: String(S.bluumTimeoutMs),
    BLUUM_API_VERSION: GENERATION,
    WRITE_RATE_LIMIT_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    NODE_EXTRA_CA_CERTS: certificate.cert,
  };
  const tokenFor = (sub: string): string => {
    const iat = Math.floor(Date.now() / 1000);
    return signHs256({ sub, iat, exp: iat + 2 * 3600 }, secret);
  };
  const adminToken = services.token(`chaos-admin-${RUN}`, signHs256, 2 * 3600);
  // Every instance started, ready or not, is stopped before the database is dropped.
  cleanups.push(() => Promise.all([...children].map(stopProcess)));
  const service = await startService('service', env, path.join(tmp, 'service.log'));
  const reader = await newUser({ service, tokenFor, adminToken }, 'reader', 2);
  const ctx: Context = {
    env,
    databaseUrl: db.url,
    proxy,
    bluum,
    service,
    reader,
    logB: path.join(tmp, 'service-b.log'),
    tokenFor,
    adminToken,
  };
  log(
    `service ready (Bluum's ${GENERATION} generation); reader ${reader.id} with ${reader.fundingSources.length} funding sources`,
  );
  log();

  let passed = 0;
  let failed = 0;
  for (const [name, scenario] of SCENARIOS.filter(([name]) => ONLY === null || ONLY.includes(name))) {
    if (await runScenario(ctx, name, scenario)) passed++;
    else failed++;
  }
  log();
  log(`chaos: ${passed} passed, ${failed} failed`);
  if (failed > 0) {
    keepTmp = true;
    log(`service logs kept in ${tmp}`);
    process.exitCode = 1;
  }
}

// Children never outlive this script, however it ends.
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`chaos: ${signal}, cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  });
}
setTimeout(() => {
  process.stderr.write(`chaos: the run took longer than ${seconds(RUN_LIMIT_MS)}, stopping\n`);
  void cleanup().finally(() => process.exit(1));
}, RUN_LIMIT_MS).unref();

main()
  .catch((error: unknown) => {
    process.stderr.write(
      `chaos failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    // Keep-alive sockets or a request still waiting on a misbehaving service must not keep us running.
    process.exit(process.exitCode ?? 0);
  });
