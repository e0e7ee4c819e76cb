// npm run chaos: the built service in production mode against faults — a slow, hung or differently
// answering Bluum, a database that resets, freezes or fails over, a second instance, hostile request bodies — one
// verdict line per scenario (PASS/FAIL and its figures), `chaos: N passed, M failed` at the end, and a
// non-zero exit code when anything failed.
//
// Set-up: a throwaway PostgreSQL database (migrated, dropped at the end), reached by the service only
// through bench/lib/fault-proxy.js; a Bluum stand-in served over HTTPS (production demands https:) with a
// self-signed certificate made by the `openssl` CLI at run time and trusted through NODE_EXTRA_CA_CERTS.
// Every request this script makes has a 30 s limit; a request that hits it counts as hung, and a request
// with no HTTP answer at all fails every scenario it belongs to. Every loop is bounded, every scenario
// has a time limit, and the whole run has one, so the script stops by itself whatever the service does.
//
// Settings (environment): CHAOS_SHORT=1 (the short form for CI: fewer users and requests, shorter
// faults), DATABASE_URL (default: a throwaway database created through CHAOS_ADMIN_DATABASE_URL, itself
// defaulting to postgresql://postgres@127.0.0.1:5432/postgres), CHAOS_ONLY (comma-separated scenario names).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const fs = require('node:fs');
const https = require('node:https');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { Client } = require('pg');
const { startFaultProxy } = require('./lib/fault-proxy');
const { freePort, migrate, productionNodeFlags, stopProcess, throwawayDatabase } = require('./lib/harness');

const ROOT = path.join(__dirname, '..');
// Bluum's documented bodies: the files the gateway's specs parse and the sandbox and the test fault
// server serve, so this stand-in cannot drift from them. Read once; a fresh copy each time, to fill in.
const WIRE_FIXTURES = path.join(ROOT, 'src', 'bluum', 'wire-fixtures');
const wireTexts = new Map();
const wire = (name) => {
  if (!wireTexts.has(name))
    wireTexts.set(name, fs.readFileSync(path.join(WIRE_FIXTURES, `${name}.json`), 'utf8'));
  return JSON.parse(wireTexts.get(name));
};
const SHORT = process.env.CHAOS_SHORT === '1';
const ADMIN_URL = process.env.CHAOS_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const S = {
  stormUsers: SHORT ? 10 : 40,
  stormBluumDelayMs: 1800,
  pileupDeletes: SHORT ? 5 : 10,
  sameAccountBluumDelayMs: 7000,
  dbFaultMs: SHORT ? 2000 : 4000,
  twoInstanceUsers: SHORT ? 40 : 400,
  twoInstanceFreezeMs: 1500,
  slowBodyLimitMs: 40_000,
  readerLoops: 3,
  readerP99Ms: 250,
  requestTimeoutMs: 30_000,
  bluumTimeoutMs: 10_000,
};
// CHAOS_ONLY=storm,db-reset: only these scenarios (for working on one; not a verdict on the rest).
const ONLY = process.env.CHAOS_ONLY ? process.env.CHAOS_ONLY.split(',').map((name) => name.trim()) : null;
const SCENARIO_LIMIT_MS = 180_000;
const RUN_LIMIT_MS = SHORT ? 6 * 60_000 : 20 * 60_000;
const RUN = randomBytes(3).toString('hex');

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.now();
const range = (n) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------------------------------
// Figures

/** Nearest-rank percentile of the latencies (ms); NaN when there are none. */
function percentile(results, p) {
  const sorted = results.map((r) => r.ms).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
const maxMs = (results) => results.reduce((max, r) => Math.max(max, r.ms), 0);
const ms = (value) => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');
const seconds = (value) => `${(value / 1000).toFixed(1)} s`;
const count = (results, predicate) => results.filter(predicate).length;
const is500 = (r) => r.status === 500;
const noAnswer = (r) => r.status === 0;

/** "200×120 503×4 none×1" (none: no HTTP answer). */
function byStatus(results) {
  const counts = new Map();
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
function byLabel(results) {
  const labels = [...new Set(results.map((r) => r.label))];
  return labels.map((label) => `${label} ${byStatus(results.filter((r) => r.label === label))}`).join(', ');
}

/** One status with the error code, if any: "409 DISCONNECT_IN_PROGRESS". */
const describe = (r) =>
  r.status === 0 ? `no answer (${r.error})` : `${r.status}${r.code ? ` ${r.code}` : ''}`;

/** A scenario's outcome: failed unless every check holds; the failed checks are named after the figures. */
function verdict(figures, checks) {
  const failed = checks.filter(([ok]) => !ok).map(([, what]) => what);
  return {
    ok: failed.length === 0,
    figures: failed.length ? `${figures} | not met: ${failed.join('; ')}` : figures,
  };
}

// ---------------------------------------------------------------------------------------------------
// Requests to the service

/**
 * One HTTP request with its own 30 s limit. A failure of the service is a result, not an exception:
 * `status` 0 means no HTTP answer (`hung` when the limit was hit). `startedAt`/`endedAt` are
 * performance.now() times.
 */
async function request(service, method, urlPath, options = {}) {
  const { token, body, rawBody, headers = {}, label = `${method} ${urlPath}` } = options;
  const timeoutMs = options.timeoutMs ?? S.requestTimeoutMs;
  const startedAt = now();
  const result = { label, status: 0, ms: 0, startedAt, endedAt: 0, body: undefined, code: undefined };
  try {
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const res = await fetch(`${service.url}${urlPath}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
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
    result.code = typeof result.body?.code === 'string' ? result.body.code : undefined;
  } catch (error) {
    // fetch fails with a TypeError (its cause says why) or the signal's TimeoutError; anything else is
    // a bug in this script, not a failure of the service, and must not be counted as one.
    if (!(error instanceof TypeError) && error?.name !== 'TimeoutError' && error?.name !== 'AbortError')
      throw error;
    result.hung = error?.name === 'TimeoutError';
    result.error = result.hung ? 'hung' : (error?.cause?.code ?? error?.name ?? String(error));
  }
  result.endedAt = now();
  result.ms = result.endedAt - startedAt;
  return result;
}

/** `loops` sequential GET loops on the reader's funding sources until stop(). */
function startReaders(service, reader, loops = S.readerLoops) {
  const results = [];
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

/**
 * stop() for a background activity: ends it, waits for it, and throws what it threw (held until then,
 * so that a rejection is never unhandled while the activity runs).
 */
function stopper(promises, end, results) {
  const settled = promises.map((p) =>
    p.then(
      () => null,
      (error) => error,
    ),
  );
  return async () => {
    end();
    const errors = (await Promise.all(settled)).filter(Boolean);
    if (errors.length) throw errors[0];
    return results;
  };
}

/** GET /health/ready every `everyMs`, whether or not the previous one has answered (at most 50 open). */
function startReadyPoller(service, everyMs) {
  const results = [];
  const errors = [];
  const open = new Set();
  const poll = () => {
    if (open.size >= 50) return;
    const pending = request(service, 'GET', '/health/ready', { label: 'ready' })
      .then(
        (r) => results.push(r),
        (error) => errors.push(error),
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
      if (errors.length) throw errors[0];
      return results;
    },
  };
}

/** A sequential GET /health/ready loop (for latency under load) until stop(). */
function startReadyLoop(service) {
  const results = [];
  let stopped = false;
  const run = (async () => {
    while (!stopped) {
      results.push(await request(service, 'GET', '/health/ready', { label: 'ready' }));
      await sleep(20);
    }
  })();
  return { results, stop: stopper([run], () => (stopped = true), results) };
}

async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
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

function expectStatus(result, statuses, what) {
  if (!statuses.includes(result.status)) {
    throw new Error(`seeding: ${what} answered ${describe(result)} (expected ${statuses.join('/')})`);
  }
  return result;
}

/** link-token, then (if it worked, as a frontend would) connect with a fresh public token. */
async function link(service, user) {
  const base = `/v1/users/${user.id}/funding-sources/plaid`;
  const results = [
    await request(service, 'POST', `${base}/link-token`, {
      token: user.token,
      body: {},
      label: 'link-token',
    }),
  ];
  if (results[0].status === 201) {
    const publicToken = `public-sandbox-${randomBytes(8).toString('hex')}`;
    results.push(
      await request(service, 'POST', `${base}/connect`, {
        token: user.token,
        body: { publicToken },
        label: 'connect',
      }),
    );
  }
  const connect = results[1];
  if (connect?.status === 201 && Array.isArray(connect.body?.fundingSources)) {
    user.fundingSources.push(...connect.body.fundingSources);
  }
  return { results, connect };
}

/** A registered user (PUT with an admin token) with `items` banks linked, each of one account. */
async function newUser(ctx, prefix, items = 0, service = ctx.service) {
  const id = `chaos-${prefix}-${RUN}-${++userSeq}`;
  const user = { id, token: ctx.tokenFor(id), account: `acct-${id}`, fundingSources: [] };
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
async function compareWithBluum(ctx, user) {
  const res = await request(ctx.service, 'GET', `/v1/users/${user.id}/funding-sources?status=all`, {
    token: user.token,
  });
  if (res.status !== 200 || !Array.isArray(res.body?.data))
    return [`${user.id}: list answered ${describe(res)}`];
  const ours = res.body.data;
  const theirs = ctx.bluum.items.get(user.account) ?? [];
  const mismatches = [];
  for (const item of theirs) {
    const stored = ours.filter((f) => f.itemId === item.itemId);
    if (stored.length === 0)
      mismatches.push(`${user.id}: ${item.itemId} (${item.status} at Bluum) not stored`);
    for (const f of stored) {
      if (f.status !== item.status.toLowerCase()) {
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
// The Bluum stand-in (HTTPS, paths under /v1, in the shapes Bluum's API documents)

function makeCertificate(dir) {
  const key = path.join(dir, 'bluum-key.pem');
  const cert = path.join(dir, 'bluum-cert.pem');
  const args =
    'req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1';
  execFileSync('openssl', [...args.split(' '), '-keyout', key, '-out', cert], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { key, cert };
}

async function startBluumStandIn(certificate) {
  const bluum = {
    url: '',
    /** Bluum account id → items, as Bluum would list them. */
    items: new Map(),
    calls: 0,
    delayMs: 0,
    hang: false,
    /** 204 (its external API) or 200 with a message (its internal one). */
    deleteStatus: 204,
    /** Connect answers 400 with the current error envelope (an expired public token). */
    rejectConnect: false,
    hanging: new Set(),
    endHang() {
      bluum.hang = false;
      // Answered never: the sockets are destroyed, so the service sees a dead connection if still waiting.
      for (const res of bluum.hanging) res.socket?.destroy();
      bluum.hanging.clear();
    },
    resetModes() {
      bluum.endHang();
      bluum.delayMs = 0;
      bluum.deleteStatus = 204;
      bluum.rejectConnect = false;
    },
  };

  const send = (res, status, body) => {
    if (res.destroyed || res.writableEnded) return;
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  // The older pages' envelope; the current one is answered only where a scenario asks for it.
  const bluumError = (code, message) => ({ ...wire('error.status'), code, message });

  /** The work of one call, done when it is answered (after the delay): [status, body]. */
  const route = (method, url, body) => {
    const match = /^\/v1\/accounts\/([^/]+)\/funding-sources(\/[^?]*)?(\?.*)?$/.exec(url);
    if (!match) return [404, bluumError('BLUM-404-000', 'no such route')];
    const account = decodeURIComponent(match[1]);
    const rest = match[2] ?? '';
    const items = bluum.items.get(account) ?? [];
    if (method === 'POST' && rest === '/plaid/link-token') {
      const reply = wire('link-token.sdk');
      reply.data.link_token = `link-sandbox-${randomBytes(8).toString('hex')}`;
      return [200, reply];
    }
    if (method === 'POST' && rest === '/plaid/connect') {
      if (bluum.rejectConnect) return [400, wire('error.object')];
      if (typeof body?.public_token !== 'string')
        return [400, bluumError('BLUM-400-002', 'public_token is required')];
      // The documented item, under fresh ids.
      const reply = wire('connect.full');
      const item = reply.data.item;
      Object.assign(item, { id: randomUUID(), itemId: `item_${randomBytes(8).toString('hex')}` });
      Object.assign(item.accounts[0], {
        id: randomUUID(),
        accountId: `acc_${randomBytes(8).toString('hex')}`,
        mask: String(1000 + Math.floor(Math.random() * 9000)),
      });
      bluum.items.set(account, [...items, item]);
      return [200, reply];
    }
    if (method === 'GET' && rest === '') {
      const reply = wire('list.items');
      reply.data.items = items;
      return [200, reply];
    }
    const one = /^\/([^/]+)$/.exec(rest);
    if (method === 'DELETE' && one) {
      const item = items.find((i) => i.id === decodeURIComponent(one[1]));
      if (!item) return [404, bluumError('BLUM-404-001', 'Funding source not found')];
      item.status = 'DISCONNECTED';
      return bluum.deleteStatus === 200 ? [200, wire('delete.200')] : [204, undefined];
    }
    return [404, bluumError('BLUM-404-000', 'no such route')];
  };

  const handle = async (req, res) => {
    const chunks = [];
    try {
      for await (const chunk of req) chunks.push(chunk);
    } catch {
      return; // the caller went away mid-body
    }
    bluum.calls++;
    // Loosely: any Basic credentials will do, none is a 401 as Bluum would answer.
    if (!/^Basic \S+$/.test(req.headers.authorization ?? '')) {
      return send(res, 401, bluumError('BLUM-401-001', 'Unauthorized'));
    }
    if (bluum.hang) {
      bluum.hanging.add(res);
      res.on('close', () => bluum.hanging.delete(res));
      return;
    }
    // Bluum does the work whether or not its caller is still waiting: the delay is before the work and
    // the answer, so a caller that gave up may find the work done later (what sync is for).
    if (bluum.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, bluum.delayMs).unref());
    let body;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    } catch {
      return send(res, 400, bluumError('BLUM-400-001', 'malformed JSON'));
    }
    const [status, reply] = route(req.method ?? '', req.url ?? '', body);
    send(res, status, reply);
  };

  const server = https.createServer(
    { key: fs.readFileSync(certificate.key), cert: fs.readFileSync(certificate.cert) },
    (req, res) => void handle(req, res),
  );
  server.on('clientError', (_error, socket) => socket.destroy());
  server.on('tlsClientError', () => {});
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  bluum.url = `https://127.0.0.1:${server.address().port}`;
  bluum.close = () => {
    bluum.endHang();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  };
  return bluum;
}

// ---------------------------------------------------------------------------------------------------
// Database, processes

const children = new Set();

/** Starts an instance of the built service; resolves once /health/ready answers 200. */
async function startService(name, env, logPath) {
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
  const service = { name, child, port, url: `http://127.0.0.1:${port}`, logPath };
  const started = now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
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

const alive = (service) => service.child.exitCode === null && service.child.signalCode === null;

const stopChild = stopProcess;

/** Waits until /health/ready answers 200 (or `limitMs` passes); true when it did. */
async function waitReady(service, limitMs) {
  const deadline = now() + limitMs;
  while (now() < deadline) {
    const r = await request(service, 'GET', '/health/ready', { timeoutMs: Math.max(100, deadline - now()) });
    if (r.status === 200) return true;
    await sleep(100);
  }
  return false;
}

const logSize = (file) => {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
};

/** The last lines a log got since `offset`, indented, each cut to 240 characters. */
function tail(file, offset, lines = 8) {
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
// Scenarios: each returns { ok, figures }

/** 1. Slow Bluum (1.8 s a call) while many users disconnect, link again and sync: reads stay fast. */
async function storm(ctx) {
  const users = await mapLimit(range(S.stormUsers), 10, () => newUser(ctx, 'storm', 1));
  ctx.bluum.delayMs = S.stormBluumDelayMs;
  const callsBefore = ctx.bluum.calls;
  const readers = startReaders(ctx.service, ctx.reader);
  const writes = [];
  const started = now();
  await Promise.all(
    users.map(async (user) => {
      writes.push(
        await request(
          ctx.service,
          'DELETE',
          `/v1/users/${user.id}/funding-sources/${user.fundingSources[0].id}`,
          {
            token: user.token,
            label: 'DELETE',
          },
        ),
      );
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
  ctx.bluum.delayMs = 0;
  const mismatches = (await mapLimit(users, 10, (user) => compareWithBluum(ctx, user))).flat();
  const outOfLine = new Set(mismatches.map((m) => m.split(':')[0])).size;
  const all = [...reads, ...writes];
  const p99 = percentile(reads, 99);
  return verdict(
    `${users.length} users in ${seconds(elapsed)}, Bluum calls ${ctx.bluum.calls - callsBefore}; ` +
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
async function deletePileup(ctx) {
  const user = await newUser(ctx, 'pileup', S.pileupDeletes);
  ctx.bluum.hang = true;
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
  ctx.bluum.endHang();
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
async function sameAccount(ctx) {
  const user = await newUser(ctx, 'same', 1);
  const target = user.fundingSources[0];
  ctx.bluum.delayMs = S.sameAccountBluumDelayMs;
  const deletes = await Promise.all(
    range(3).map(() =>
      request(ctx.service, 'DELETE', `/v1/users/${user.id}/funding-sources/${target.id}`, {
        token: user.token,
        label: 'DELETE',
      }),
    ),
  );
  ctx.bluum.delayMs = 0;
  const ours = await request(ctx.service, 'GET', `/v1/users/${user.id}/funding-sources/${target.id}`, {
    token: user.token,
  });
  const theirs = (ctx.bluum.items.get(user.account) ?? []).find(
    (item) => item.itemId === target.itemId,
  )?.status;
  const ourStatus = ours.status === 200 ? ours.body?.status : `(GET answered ${describe(ours)})`;
  return verdict(`DELETEs: ${deletes.map(describe).join(', ')}; ours ${ourStatus}, Bluum ${theirs}`, [
    [count(deletes, is500) === 0 && !is500(ours), 'no 500'],
    [count(deletes, noAnswer) === 0, 'every request answered'],
    [ours.status === 200 && (ourStatus === 'disconnected') === (theirs === 'DISCONNECTED'), 'statuses agree'],
  ]);
}

/** 4 and 5. The database resets or freezes for a while: fast, honest 503s, then back within 2 s. */
async function databaseFault(ctx, kind) {
  const readers = startReaders(ctx.service, ctx.reader);
  const ready = startReadyPoller(ctx.service, 200);
  await sleep(1000);
  const faultAt = now();
  if (kind === 'reset') ctx.proxy.reset();
  else ctx.proxy.freeze();
  await sleep(S.dbFaultMs);
  ctx.proxy.heal();
  const healAt = now();
  await sleep(3000);
  const reads = await readers.stop();
  const polls = await ready.stop();
  const all = [...reads, ...polls];
  const hung = count(all, (r) => r.hung || r.ms > 10_000);
  const dishonest = count(
    reads,
    (r) => r.status === 503 && (!r.retryAfter || r.code !== 'DATABASE_UNAVAILABLE'),
  );
  const downDuringFault = polls.some((r) => r.status === 503 && r.endedAt >= faultAt && r.endedAt <= healAt);
  const backAfter = Math.min(
    ...polls.filter((r) => r.status === 200 && r.endedAt >= healAt).map((r) => r.endedAt - healAt),
  );
  return verdict(
    `${seconds(S.dbFaultMs)} ${kind}: reader ${byStatus(reads)}, max ${ms(maxMs(reads))}; ready ${byStatus(polls)}, ` +
      `max ${ms(maxMs(polls))}, 503 during the fault: ${downDuringFault ? 'yes' : 'no'}, ` +
      `200 again ${Number.isFinite(backAfter) ? `${ms(backAfter)} after heal` : 'never'}; ` +
      `500s ${count(all, is500)}, hung ${hung}, 503s without Retry-After + DATABASE_UNAVAILABLE ${dishonest}`,
    [
      [count(all, is500) === 0, 'no 500'],
      [hung === 0, 'none hung > 10 s'],
      [count(all, noAnswer) === 0, 'every request answered'],
      [dishonest === 0, 'every 503 has Retry-After and DATABASE_UNAVAILABLE'],
      [downDuringFault, 'ready 503 during the fault'],
      [backAfter <= 2000, 'ready 200 within 2 s after heal'],
    ],
  );
}

/**
 * 4b. The database fails over: a demoted primary refuses every write (25006) and its sessions end, for
 * S.dbFaultMs; then it takes writes again, without ending the sessions opened meanwhile (still read-only:
 * the service must drop them itself). Writes 503, reads 200, readiness 503, then all back.
 */
async function failover(ctx) {
  const database = new URL(ctx.databaseUrl).pathname.slice(1);
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const readers = startReaders(ctx.service, ctx.reader);
  const ready = startReadyPoller(ctx.service, 200);
  const writes = [];
  let writing = true;
  // A user registered, then a link token for it: the two writes every frontend makes first.
  const writer = (async () => {
    while (writing) {
      const id = `chaos-failover-${RUN}-${++userSeq}`;
      const put = await request(ctx.service, 'PUT', `/v1/users/${id}`, {
        token: ctx.adminToken,
        body: { bluumAccountId: `acct-${id}` },
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
  let faultAt;
  let healAt;
  try {
    await sleep(1000);
    faultAt = now();
    await admin.query(`ALTER DATABASE ${database} SET default_transaction_read_only = on`);
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [database],
    );
    await sleep(S.dbFaultMs);
  } finally {
    await admin.query(`ALTER DATABASE ${database} RESET default_transaction_read_only`);
    await admin.end();
  }
  healAt = now();
  await sleep(5000);
  writing = false;
  await writer;
  const reads = await readers.stop();
  const polls = await ready.stop();
  const all = [...reads, ...polls, ...writes];
  // What was asked well inside the fault (the sessions ended at its start may fail what was in flight).
  const inside = (r) => r.startedAt >= faultAt + 500 && r.endedAt <= healAt;
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
    `${seconds(S.dbFaultMs)} read-only: writes inside ${byStatus(writesInside)}, reads inside ${byStatus(readsInside)}; ` +
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
async function recovery(service, reader, since, limitMs) {
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

/** 6. Two instances, many users linking and disconnecting, the database frozen 1.5 s: both recover. */
async function twoInstancesFreeze(ctx) {
  const second = await startService('service-b', ctx.env, ctx.logB);
  const instances = [ctx.service, second];
  try {
    const users = await mapLimit(range(S.twoInstanceUsers), 20, () => newUser(ctx, 'twin', 0));
    const results = [];
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
    work.catch(() => {}); // awaited below; not an unhandled rejection meanwhile
    await sleep(500);
    ctx.proxy.freeze();
    await sleep(S.twoInstanceFreezeMs);
    ctx.proxy.heal();
    const healAt = now();
    const recovered = await Promise.all(
      instances.map((service) => recovery(service, ctx.reader, healAt, 5000)),
    );
    await work;
    const hung = count(results, (r) => r.hung);
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
    await stopChild(second.child);
  }
}

/** 7. A request body that trickles in (a byte every 2 s) must not hold a connection for ever. */
function slowBody(ctx) {
  const userId = `chaos-slow-${RUN}`;
  const head =
    `POST /v1/users/${userId}/funding-sources/plaid/connect HTTP/1.1\r\n` +
    `Host: 127.0.0.1:${ctx.service.port}\r\n` +
    `Authorization: Bearer ${ctx.tokenFor(userId)}\r\n` +
    'Content-Type: application/json\r\nContent-Length: 60000\r\n\r\n{';
  return new Promise((resolve) => {
    const started = now();
    let answer = null;
    let answeredAfter = null;
    let received = '';
    const socket = net.connect(ctx.service.port, '127.0.0.1');
    const drip = setInterval(() => socket.write(' '), 2000);
    let done = false;
    const finish = (closedAfter) => {
      if (done) return;
      done = true;
      clearInterval(drip);
      clearTimeout(limit);
      socket.destroy();
      const what =
        closedAfter === null
          ? `still open after ${seconds(S.slowBodyLimitMs)}`
          : `closed by the service after ${seconds(closedAfter)}`;
      const answered = answer === null ? 'no answer' : `answered ${answer} after ${seconds(answeredAfter)}`;
      resolve(
        verdict(`${what}, ${answered}`, [
          [
            closedAfter !== null || answer === 408 || answer === 400,
            `closed (or 408/400) within ${seconds(S.slowBodyLimitMs)}`,
          ],
        ]),
      );
    };
    const limit = setTimeout(() => finish(null), S.slowBodyLimitMs);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      if (status && answer === null) {
        answer = Number(status[1]);
        answeredAfter = now() - started;
      }
    });
    socket.on('error', () => {}); // a reset is one way of closing; 'close' follows
    socket.on('close', () => finish(now() - started));
  });
}

/** 8. A 40 KB body nested 20,000 levels deep: a 400, not a stack overflow turned 500. */
async function deepJson(ctx) {
  const deep = '['.repeat(20_000) + ']'.repeat(20_000);
  const connectPath = `/v1/users/${ctx.reader.id}/funding-sources/plaid/connect`;
  const inField = await request(ctx.service, 'POST', connectPath, {
    token: ctx.reader.token,
    rawBody: `{"publicToken":${deep}}`,
  });
  const whole = await request(ctx.service, 'POST', connectPath, { token: ctx.reader.token, rawBody: deep });
  return verdict(`as publicToken: ${describe(inField)}; as the whole body: ${describe(whole)}`, [
    [inField.status === 400, 'publicToken nested: 400'],
    [whole.status === 400, 'whole body nested: 400'],
  ]);
}

/** 9. Ids longer than the contract's 128 characters: a 400 in the path, a 401 in a token's sub. */
async function longIds(ctx) {
  const longPathId = 'a'.repeat(161);
  const linkToken = await request(
    ctx.service,
    'POST',
    `/v1/users/${longPathId}/funding-sources/plaid/link-token`,
    {
      token: ctx.adminToken,
      body: {},
    },
  );
  const longSub = 'b'.repeat(129);
  const connect = await request(ctx.service, 'POST', `/v1/users/${longSub}/funding-sources/plaid/connect`, {
    token: ctx.tokenFor(longSub),
    body: { publicToken: `public-sandbox-${randomBytes(8).toString('hex')}` },
    headers: { 'idempotency-key': `chaos-${randomBytes(8).toString('hex')}` },
  });
  return verdict(
    `161-character path userId: ${describe(linkToken)}; 129-character sub: ${describe(connect)}`,
    [
      [linkToken.status === 400, 'long path userId: 400'],
      [connect.status === 401, 'long sub: 401'],
    ],
  );
}

/** 10. Bluum answers a DELETE with 200 and a message instead of 204: still done. */
async function bluumDelete200(ctx) {
  const user = await newUser(ctx, 'delete200', 1);
  ctx.bluum.deleteStatus = 200;
  const res = await request(
    ctx.service,
    'DELETE',
    `/v1/users/${user.id}/funding-sources/${user.fundingSources[0].id}`,
    {
      token: user.token,
    },
  );
  const status = res.body?.status;
  return verdict(`DELETE ${describe(res)}, status ${status}`, [
    [res.status === 200 && status === 'disconnected', "200 with status 'disconnected'"],
  ]);
}

/** 11. Bluum refuses a public token with its current error envelope: a 422, as with the older one. */
async function bluumNewErrorEnvelope(ctx) {
  const user = await newUser(ctx, 'envelope', 0);
  ctx.bluum.rejectConnect = true;
  const { results, connect } = await link(ctx.service, user);
  const answer = connect ?? results[0];
  return verdict(`${answer.label} ${describe(answer)}`, [
    [
      answer.label === 'connect' && answer.status === 422 && answer.code === 'PUBLIC_TOKEN_REJECTED',
      '422 PUBLIC_TOKEN_REJECTED',
    ],
  ]);
}

const SCENARIOS = [
  ['storm', storm],
  ['delete-pileup', deletePileup],
  ['same-account', sameAccount],
  ['db-reset', (ctx) => databaseFault(ctx, 'reset')],
  ['db-freeze', (ctx) => databaseFault(ctx, 'freeze')],
  ['failover', failover],
  ['two-instances-freeze', twoInstancesFreeze],
  ['slow-body', slowBody],
  ['deep-json', deepJson],
  ['long-ids', longIds],
  ['bluum-delete-200', bluumDelete200],
  ['bluum-new-error-envelope', bluumNewErrorEnvelope],
];

// ---------------------------------------------------------------------------------------------------

async function runScenario(ctx, name, fn) {
  const logs = [ctx.service.logPath, ctx.logB].map((file) => ({ file, offset: logSize(file) }));
  const started = now();
  let outcome;
  let timer;
  try {
    const running = fn(ctx);
    running.catch(() => {}); // if the time limit wins, a later failure is of no interest
    outcome = await Promise.race([
      running,
      new Promise((resolve) => {
        timer = setTimeout(
          () => resolve({ ok: false, figures: `did not finish within ${seconds(SCENARIO_LIMIT_MS)}` }),
          SCENARIO_LIMIT_MS,
        );
      }),
    ]);
  } catch (error) {
    outcome = { ok: false, figures: `error: ${error.message}` };
  } finally {
    clearTimeout(timer);
  }
  // Back to a well state for the next scenario, whatever this one left behind.
  ctx.bluum.resetModes();
  ctx.proxy.heal();
  if (!alive(ctx.service)) {
    outcome = {
      ok: false,
      figures: `${outcome.figures} | the service exited (${ctx.service.child.exitCode ?? ctx.service.child.signalCode})`,
    };
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

const cleanups = [];
let cleaning = null;
/** Stops the services, the proxy and the stand-in, drops the database: once, in reverse order of set-up. */
function cleanup() {
  cleaning ??= (async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        process.stderr.write(`chaos: clean-up step failed: ${error.message}\n`);
      }
    }
  })();
  return cleaning;
}

async function main() {
  const unknown = (ONLY ?? []).filter((name) => !SCENARIOS.some(([known]) => known === name));
  if (unknown.length) throw new Error(`CHAOS_ONLY: no scenario named ${unknown.join(', ')}`);
  log(
    `chaos${SHORT ? ' (CHAOS_SHORT=1)' : ''}: storm ${S.stormUsers} users, Bluum ${S.stormBluumDelayMs} ms; ` +
      `pileup ${S.pileupDeletes} DELETEs; database faults ${seconds(S.dbFaultMs)}; ` +
      `two instances ${S.twoInstanceUsers} users, freeze ${seconds(S.twoInstanceFreezeMs)}; ` +
      `reader p99 target ${S.readerP99Ms} ms, ${S.readerLoops} loops; request limit ${seconds(S.requestTimeoutMs)}`,
  );
  log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
  log('Building the service (npm run build) …');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const { signHs256 } = require(path.join(ROOT, 'dist', 'auth', 'jwt.js'));

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bluum-chaos-'));
  let keepTmp = false;
  cleanups.push(() => !keepTmp && fs.rmSync(tmp, { recursive: true, force: true }));
  const certificate = makeCertificate(tmp);

  const db = await throwawayDatabase({
    adminUrl: ADMIN_URL,
    prefix: 'bluum_chaos',
    adminVariable: 'CHAOS_ADMIN_DATABASE_URL',
  });
  cleanups.push(db.drop);
  migrate(db.url);
  const upstream = new URL(db.url);
  const proxy = await startFaultProxy({
    upstreamHost: upstream.hostname || '127.0.0.1',
    upstreamPort: Number(upstream.port || 5432),
  });
  cleanups.push(() => proxy.close());
  const bluum = await startBluumStandIn(certificate);
  cleanups.push(() => bluum.close());

  const secret = randomBytes(36).toString('base64url'); // 48 characters
  const env = {
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    DATABASE_URL: proxy.url(db.url),
    BLUUM_BASE_URL: bluum.url,
    BLUUM_API_KEY: 'chaos_key',
    BLUUM_API_SECRET: 'chaos_secret',
    AUTH_JWT_SECRET: secret,
    BLUUM_TIMEOUT_MS: String(S.bluumTimeoutMs),
    WRITE_RATE_LIMIT_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    NODE_EXTRA_CA_CERTS: certificate.cert,
  };
  const exp = () => Math.floor(Date.now() / 1000) + 2 * 3600;
  const ctx = {
    env,
    databaseUrl: db.url,
    proxy,
    bluum,
    logB: path.join(tmp, 'service-b.log'),
    tokenFor: (sub) => signHs256({ sub, exp: exp() }, secret),
    adminToken: signHs256({ sub: `chaos-admin-${RUN}`, exp: exp(), roles: ['admin'] }, secret),
  };
  // Every instance started, ready or not, is stopped before the database is dropped.
  cleanups.push(() => Promise.all([...children].map(stopChild)));
  ctx.service = await startService('service', env, path.join(tmp, 'service.log'));
  ctx.reader = await newUser(ctx, 'reader', 2);
  log(`service ready; reader ${ctx.reader.id} with ${ctx.reader.fundingSources.length} funding sources`);
  log();

  let passed = 0;
  let failed = 0;
  for (const [name, fn] of SCENARIOS.filter(([name]) => ONLY === null || ONLY.includes(name))) {
    if (await runScenario(ctx, name, fn)) passed++;
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
for (const signal of ['SIGINT', 'SIGTERM']) {
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
  .catch((error) => {
    process.stderr.write(`chaos failed: ${error.stack ?? error}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    // Keep-alive sockets or a request still waiting on a misbehaving service must not keep us running.
    process.exit(process.exitCode ?? 0);
  });
