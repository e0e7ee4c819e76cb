// npm run bench: the deposit services' read path (GET /v1/users/{userId}/funding-sources) of the built
// service in production mode with every production feature on (an identity provider's JWKS, CORS, security
// headers, metrics behind a token, webhooks, the reconciliation and retention sweeps, the Bluum bulkhead),
// with its docs off and again on, side by side with two floors on one PostgreSQL:
// - the one-table floor (bench/baseline-server.js): bare Fastify + pg reading bank_accounts alone, the
//   least any server could do for this answer; the read path's req/s and p99 are judged against it;
// - the stack floor (bench/stack-floor-server.js): NestJS on Fastify with the project's generated Prisma
//   client, one module and one controller, the least a service on this project's stack costs; resident
//   memory and cold start are judged against it.
// Every server answers what the service answers, byte for byte once the service's insignificant JSON
// whitespace is dropped (checked before loading). Every server runs with the service's production node
// flags. The service's one-funding-source read and the admin listing's first page are loaded too, without
// a floor. A shared 2-core machine is noisy, so the runs alternate (service, floors, service's other routes;
// again, …), each ratio is the median of the pairs, and cold start is the median of BENCH_STARTS starts,
// alternating. The targets' PASS/FAIL lines are informative: only a run that breaks or gets a non-2xx
// answer exits non-zero.
//
// Settings (environment): DATABASE_URL (default: a throwaway database created through
// BENCH_ADMIN_DATABASE_URL, itself defaulting to postgresql://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (32), BENCH_DURATION seconds per run (10), BENCH_WARMUP seconds (3), BENCH_ROUNDS (3),
// BENCH_STARTS (3), BENCH_ADMIN_LIMIT (50, the admin page's limit), BENCH_PROFILE=1 (a CPU profile of the
// service in .artifacts/profile/).
'use strict';
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const { mkdtempSync, openSync, readFileSync, rmSync } = require('node:fs');
const { createServer } = require('node:https');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');
const {
  freePort,
  migrate,
  productionNodeFlags,
  selfSignedCertificate,
  serviceKeys,
  stopProcess,
  throwawayDatabase,
} = require('./lib/harness');

const ROOT = path.join(__dirname, '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const STARTS = Math.max(1, Number(process.env.BENCH_STARTS ?? 3));
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
// The service (docs off, and on) against the one-table floor: req/s at least, p99 at most this many times
// the floor's; against the stack floor: resident memory after the load and cold start at most this many times.
const TARGETS = { ratio: 0.9, p99Factor: 1.5, rssFactor: 1.3, coldStartFactor: 1.5 };
const ADMIN_LIMIT = Number(process.env.BENCH_ADMIN_LIMIT ?? 50);
// Resident memory "at rest" is read this long after a server was ready.
const SETTLE_MS = 5_000;
const ISSUER = 'https://identity.bench.test/';
const AUDIENCE = 'bluum-bank-linking';

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One user with one bank (item) of three accounts, as a connect would have stored them. */
async function seedUser(client, userId) {
  const item = {
    id: randomUUID(),
    itemId: `item_${randomBytes(8).toString('hex')}`,
    institutionId: 'ins_109508',
    institutionName: 'First Platypus Bank',
    bluumFundingSourceId: randomUUID(),
  };
  await client.query(
    // One Bluum account belongs to one user (a unique index): each user has its own.
    `INSERT INTO users (id, bluum_account_id, created_at, updated_at) VALUES ($1, $2, now(), now())`,
    [userId, `acct_${userId}`],
  );
  await client.query(
    `INSERT INTO plaid_items (id, user_id, item_id, bluum_funding_source_id, institution_id, institution_name, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, 'active', now(), now())`,
    [item.id, userId, item.itemId, item.bluumFundingSourceId, item.institutionId, item.institutionName],
  );
  const accounts = [
    ['Plaid Checking', 'checking', '0000'],
    ['Plaid Saving', 'savings', '1111'],
    ['Plaid Money Market', 'money market', '4444'],
  ];
  for (const [index, [name, subtype, mask]] of accounts.entries()) {
    // Each account carries its item's fields, as connect writes them.
    await client.query(
      `INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, subtype, mask, status, institution_name, created_at, updated_at, item_id, institution_id, bluum_funding_source_id)
       VALUES ($1, $2, $3, $4, $5, 'depository', $6, $7, 'active', $8, now() - make_interval(secs => $9), now(), $10, $11, $12)`,
      [
        randomUUID(),
        item.id,
        userId,
        `acc_${randomBytes(8).toString('hex')}`,
        name,
        subtype,
        mask,
        item.institutionName,
        index,
        item.itemId,
        item.institutionId,
        item.bluumFundingSourceId,
      ],
    );
  }
}

/**
 * The measured user (three funding sources), and enough other users that the admin listing's first page
 * of ADMIN_LIMIT is a full one with a next cursor, as it is in production.
 */
async function seed(url) {
  const userId = `bench-${randomBytes(4).toString('hex')}`;
  const others = Array.from({ length: Math.ceil(ADMIN_LIMIT / 3) }, (_, n) => `${userId}-${n}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  for (const id of [...others, userId]) await seedUser(client, id);
  const cleanup = async () => {
    const ids = [...others, userId];
    await client.query('DELETE FROM bank_accounts WHERE user_id = ANY($1)', [ids]);
    await client.query('DELETE FROM plaid_items WHERE user_id = ANY($1)', [ids]);
    await client.query('DELETE FROM users WHERE id = ANY($1)', [ids]);
    await client.end();
  };
  return { userId, cleanup };
}

/**
 * The identity provider's JWKS (no key: the bench's tokens are the shared secret's) and a webhook
 * receiver, over HTTPS, so the service runs with both on as production does.
 */
async function startHttpsPeers(certificate) {
  const server = createServer(
    { key: readFileSync(certificate.key), cert: readFileSync(certificate.cert) },
    (req, res) => {
      if (req.url === '/jwks') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      } else {
        req.resume();
        res.writeHead(204).end();
      }
    },
  );
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `https://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

/** Starts a server process; resolves once /health/ready answers 200, with the time that took. */
async function start(name, args, env) {
  const port = await freePort();
  const out = openSync(os.devNull, 'w');
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', out, 'inherit'],
  });
  let exited = null;
  child.on('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== null) throw new Error(`${name} exited with ${exited} before it was ready`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) {
      const now = performance.now();
      return { child, coldStartMs: now - started, readyAt: now, url: `http://127.0.0.1:${port}` };
    }
    if (performance.now() - started > 30_000) throw new Error(`${name} was not ready within 30 s`);
    await sleep(5);
  }
}

/** Resident memory of the process itself (its node, not a wrapper), MB. */
function rssMb(pid) {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : NaN;
}

function load(url, token, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, connections: CONNECTIONS, duration: seconds, headers: { authorization: `Bearer ${token}` } },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

const summary = (result) => ({
  rps: result.requests.average,
  p50: result.latency.p50,
  p99: result.latency.p99,
  bad: result.non2xx + result.errors + result.timeouts,
});

const fmt = (n, width = 8, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '–').padStart(width);

async function main() {
  log('Building the service (npm run build) …');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const { signHs256 } = require(path.join(ROOT, 'dist', 'auth', 'jwt.js'));

  const db = await throwawayDatabase({
    adminUrl: ADMIN_URL,
    prefix: 'bluum_bench',
    adminVariable: 'BENCH_ADMIN_DATABASE_URL',
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const processes = new Set();
  let seeded = null;
  let peers = null;
  try {
    migrate(db.url);
    seeded = await seed(db.url);
    const certificate = selfSignedCertificate(tmp);
    peers = await startHttpsPeers(certificate);
    const secret = randomBytes(32).toString('base64url');
    const iat = Math.floor(Date.now() / 1000);
    // With an identity provider configured, shared-secret tokens carry its issuer and audience too.
    const claims = { iss: ISSUER, aud: AUDIENCE, iat, exp: iat + 3600 };
    const token = signHs256({ sub: seeded.userId, ...claims }, secret);
    const keys = serviceKeys([
      { client: 'bench-admin', admin: true },
      { client: 'bench-deposits', scopes: ['funding-sources:read'] },
    ]);
    const adminToken = keys.token('bench-admin', (payload, key, options) =>
      signHs256({ ...payload, iss: ISSUER, aud: AUDIENCE }, key, options),
    );
    // Named for all: the service's reads and the floors' queries go through pools of one size.
    const env = { DATABASE_URL: db.url, AUTH_JWT_SECRET: secret, DATABASE_READ_POOL_SIZE: '5' };
    const serviceEnv = {
      ...env,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      // A Bluum that the read path must never need: nothing answers at this address. The reconciliation
      // sweep stays on at its default interval; its calls fail without changing a row.
      BLUUM_BASE_URL: 'https://bluum-stand-in.invalid',
      BLUUM_API_KEY: 'bench_key',
      BLUUM_API_SECRET: 'bench_secret',
      AUTH_JWKS_URL: `${peers.url}/jwks`,
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      CORS_ALLOWED_ORIGINS: 'https://app.bench.test',
      METRICS_TOKEN: randomBytes(24).toString('base64url'),
      WEBHOOK_URLS: `${peers.url}/webhooks`,
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
      AUTH_SERVICE_KEYS: keys.env,
      // The read path is what is measured: one token at thousands of requests a second stays under its
      // budget, which is still counted on every request.
      REQUEST_RATE_LIMIT_PER_MINUTE: '1000000',
      SERVICE_REQUEST_RATE_LIMIT_PER_MINUTE: '10000000',
      NODE_EXTRA_CA_CERTS: certificate.cert,
    };
    // BENCH_PROFILE=1: the service writes a V8 CPU profile to .artifacts/profile/ when it stops.
    const profile =
      process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=.artifacts/profile'] : [];
    const flags = productionNodeFlags();
    const specs = [
      {
        name: 'service',
        args: [...profile, ...flags, 'dist/main.js'],
        env: { ...serviceEnv, DOCS_ENABLED: 'false' },
      },
      {
        name: 'service, docs on',
        args: [...flags, 'dist/main.js'],
        env: { ...serviceEnv, DOCS_ENABLED: 'true', DOCS_PUBLIC: 'true' },
      },
      { name: 'one-table floor', args: [...flags, 'bench/baseline-server.js'], env },
      { name: 'stack floor', args: [...flags, 'bench/stack-floor-server.js'], env },
    ];

    // Cold starts alternate between the servers, one at a time while nothing else is busy; the last
    // start of each is kept for the load, and its resident memory read SETTLE_MS after it was ready.
    const servers = specs.map((spec) => ({ ...spec, coldStarts: [] }));
    for (let round = 1; round <= STARTS; round += 1) {
      for (const server of servers) {
        const started = await start(server.name, server.args, server.env);
        server.coldStarts.push(started.coldStartMs);
        if (round < STARTS) {
          await stopProcess(started.child);
        } else {
          processes.add(started.child);
          Object.assign(server, started);
        }
      }
    }
    for (const server of servers) {
      await sleep(Math.max(0, server.readyAt + SETTLE_MS - performance.now()));
      server.rssRestMb = rssMb(server.child.pid);
      server.coldStartMs = median(server.coldStarts);
    }
    const [service, serviceDocs, floor, stack] = servers;
    const services = [service, serviceDocs];
    // The service's other routes load an instance of their own, so each server's memory after the load
    // is what the list route alone left it with, as the floors' is.
    const others = { name: 'service', ...(await start('service', specs[0].args, specs[0].env)) };
    processes.add(others.child);

    const list = `/v1/users/${seeded.userId}/funding-sources`;
    const get = async (server, route, bearer) => {
      const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 200, `${server.name}: GET ${route} answered ${res.status}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      return res.text();
    };
    // Every floor answers what the service answers: the same bytes once the whitespace PostgreSQL's JSON
    // rendering puts between tokens is dropped (key order included), with and without a status filter.
    for (const query of ['', '?status=all']) {
      const expected = JSON.stringify(JSON.parse(await get(service, `${list}${query}`, token)));
      assert.equal(JSON.parse(expected).data.length, 3);
      for (const other of [serviceDocs, floor, stack]) {
        const text = await get(other, `${list}${query}`, token);
        assert.equal(
          other === serviceDocs ? JSON.stringify(JSON.parse(text)) : text,
          expected,
          `the ${other.name} must send exactly what the service sends`,
        );
      }
    }
    const { data } = JSON.parse(await get(service, list, token));
    const one = `${list}/${data[0].id}`;
    assert.deepStrictEqual(JSON.parse(await get(others, one, token)), data[0]);
    const admin = `/v1/admin/funding-sources?limit=${ADMIN_LIMIT}`;
    const page = JSON.parse(await get(others, admin, adminToken));
    assert.equal(page.data.length, ADMIN_LIMIT, 'the admin first page is a full page');
    assert.equal(typeof page.nextCursor, 'string', 'the admin first page has a next page');

    // Each round, in this order: the list on every server back to back, then the service's other routes.
    const plan = [
      ...servers.map((server) => ({ server, what: 'list', route: list, bearer: token })),
      { server: others, what: 'one funding source', route: one, bearer: token },
      { server: others, what: `admin first page (limit ${ADMIN_LIMIT})`, route: admin, bearer: adminToken },
    ];
    const loadOnce = async ({ server, route, bearer }, seconds) =>
      summary(await load(`${server.url}${route}`, bearer, seconds));

    log(`Warm-up: ${WARMUP} s each …`);
    for (const entry of plan) await loadOnce(entry, WARMUP);
    const runs = plan.map(() => []);
    for (let round = 1; round <= ROUNDS; round += 1) {
      log(`Round ${round}/${ROUNDS}: ${plan.length} runs (${CONNECTIONS} connections, ${DURATION} s each) …`);
      for (const [index, entry] of plan.entries()) runs[index].push(await loadOnce(entry, DURATION));
    }
    for (const server of servers) server.rssLoadedMb = rssMb(server.child.pid);

    log();
    log(
      `${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} round(s), ${STARTS} cold start(s) each; the user has 3 funding sources`,
    );
    log(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`,
    );
    log('A shared machine is noisy: compare the ratios of one run, not the figures of two runs.');
    log();
    log('round  server           route                              req/s   p50 ms   p99 ms');
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [index, { server, what }] of plan.entries()) {
        const r = runs[index][round];
        log(
          `${String(round + 1).padStart(5)}  ${server.name.padEnd(16)} ${what.padEnd(30)} ${fmt(r.rps, 9)} ${fmt(r.p50, 8, 1)} ${fmt(r.p99, 8, 1)}`,
        );
      }
    }

    // GET …/funding-sources, side by side: medians of the rounds; ratios are medians of the pairs.
    const listRuns = (server) => runs[plan.findIndex((e) => e.server === server && e.what === 'list')];
    const pairs = (a, b, key) => median(listRuns(a).map((run, round) => run[key] / listRuns(b)[round][key]));
    const row = (label, value, digits = 0) =>
      log(`${label.padEnd(44)}${servers.map((server) => fmt(value(server), 18, digits)).join('')}`);
    log();
    log(
      `GET /v1/users/{userId}/funding-sources`.padEnd(44) + servers.map((s) => s.name.padStart(18)).join(''),
    );
    row('req/s (median of rounds)', (s) => median(listRuns(s).map((r) => r.rps)));
    row('p50 ms (median of rounds)', (s) => median(listRuns(s).map((r) => r.p50)), 1);
    row('p99 ms (median of rounds)', (s) => median(listRuns(s).map((r) => r.p99)), 1);
    row(`resident memory ${SETTLE_MS / 1000} s after ready, MB`, (s) => s.rssRestMb);
    row('resident memory after the load, MB', (s) => s.rssLoadedMb);
    row(`cold start, spawn → ready 200, ms (median)`, (s) => s.coldStartMs);
    const serviceRow = (label, value) =>
      log(
        `${label.padEnd(44)}${servers.map((server) => (services.includes(server) ? fmt(value(server), 18, 2) : ''.padStart(18))).join('')}`,
      );
    serviceRow('÷ one-table floor: req/s (median of pairs)', (s) => pairs(s, floor, 'rps'));
    serviceRow('÷ one-table floor: p99 (median of pairs)', (s) => pairs(s, floor, 'p99'));
    serviceRow('÷ stack floor: memory after the load', (s) => s.rssLoadedMb / stack.rssLoadedMb);
    serviceRow('÷ stack floor: cold start', (s) => s.coldStartMs / stack.coldStartMs);
    log(`${'stack floor ÷ one-table floor: req/s'.padEnd(44)}${fmt(pairs(stack, floor, 'rps'), 18, 2)}`);

    log();
    log('Service only (no floor serves these), medians of rounds:');
    for (const [index, { server, what, route }] of plan.entries()) {
      if (server !== others) continue;
      const rs = runs[index];
      log(
        `  ${what.padEnd(30)} req/s ${fmt(median(rs.map((r) => r.rps)), 7)}   p50 ${fmt(median(rs.map((r) => r.p50)), 6, 1)} ms   p99 ${fmt(median(rs.map((r) => r.p99)), 6, 1)} ms   GET ${route.replace(seeded.userId, '{userId}').replace(data[0].id, '{id}')}`,
      );
    }

    // Informative: a miss is printed, and only a run that breaks (or a non-2xx answer) fails.
    const verdict = (ok, text) => log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
    for (const server of services) {
      log();
      log(
        `Targets, ${server.name} (${server.env.DOCS_ENABLED === 'true' ? 'DOCS_ENABLED=true' : 'DOCS_ENABLED=false'}):`,
      );
      const ratio = pairs(server, floor, 'rps');
      const p99 = pairs(server, floor, 'p99');
      const rss = server.rssLoadedMb / stack.rssLoadedMb;
      const cold = server.coldStartMs / stack.coldStartMs;
      verdict(ratio >= TARGETS.ratio, `req/s ÷ one-table floor ${ratio.toFixed(2)} ≥ ${TARGETS.ratio}`);
      verdict(p99 <= TARGETS.p99Factor, `p99 ÷ one-table floor ${p99.toFixed(2)} ≤ ${TARGETS.p99Factor}`);
      verdict(
        rss <= TARGETS.rssFactor,
        `resident memory after the load ÷ stack floor ${rss.toFixed(2)} (${server.rssLoadedMb.toFixed(0)} MB ÷ ${stack.rssLoadedMb.toFixed(0)} MB) ≤ ${TARGETS.rssFactor}`,
      );
      verdict(
        cold <= TARGETS.coldStartFactor,
        `cold start ÷ stack floor ${cold.toFixed(2)} (${server.coldStartMs.toFixed(0)} ms ÷ ${stack.coldStartMs.toFixed(0)} ms) ≤ ${TARGETS.coldStartFactor}`,
      );
    }
    // A deposit service's reads while an end user floods: on an instance with the default budget for end
    // users (REQUEST_RATE_LIMIT_PER_MINUTE), so the flood is answered 429 after its first 600 a minute.
    // Half the connections each; the deposit service alone first, for its own figures.
    const limitedEnv = { ...specs[0].env };
    delete limitedEnv.REQUEST_RATE_LIMIT_PER_MINUTE;
    const limited = await start('service, default budgets', specs[0].args, limitedEnv);
    processes.add(limited.child);
    const depositToken = keys.token('bench-deposits', (payload, key, options) =>
      signHs256({ ...payload, iss: ISSUER, aud: AUDIENCE }, key, options),
    );
    const half = Math.max(1, Math.floor(CONNECTIONS / 2));
    const loadWith = (token, connections) =>
      new Promise((resolve, reject) =>
        autocannon(
          {
            url: `${limited.url}${list}`,
            connections,
            duration: DURATION,
            headers: { authorization: `Bearer ${token}` },
          },
          (error, result) => (error ? reject(error) : resolve(result)),
        ),
      );
    const alone = summary(await loadWith(depositToken, half));
    const [flooded, flood] = await Promise.all([loadWith(depositToken, half), loadWith(token, half)]);
    const during = summary(flooded);
    log();
    log(`A deposit service's reads (${half} connections) while an end user floods (${half} connections):`);
    log(
      `  alone:        req/s ${fmt(alone.rps, 7)}   p50 ${fmt(alone.p50, 6, 1)} ms   p99 ${fmt(alone.p99, 6, 1)} ms   non-2xx ${alone.bad}`,
    );
    log(
      `  during flood: req/s ${fmt(during.rps, 7)}   p50 ${fmt(during.p50, 6, 1)} ms   p99 ${fmt(during.p99, 6, 1)} ms   non-2xx ${during.bad}`,
    );
    log(
      `  the flood:    req/s ${fmt(flood.requests.average, 7)}   answered 429: ${flood.non2xx} of ${flood.requests.total}`,
    );
    const floorP99 = median(listRuns(floor).map((r) => r.p99));
    verdict(
      during.p99 <= TARGETS.p99Factor * floorP99 && during.bad === 0,
      `the deposit service's p99 during the flood ${during.p99.toFixed(1)} ms ≤ ${TARGETS.p99Factor} × the one-table floor's ${floorP99.toFixed(1)} ms, none of its reads refused`,
    );
    const bad = runs.flat().reduce((sum, r) => sum + r.bad, 0) + alone.bad + during.bad;
    log(`non-2xx responses, errors, timeouts: ${bad}`);
    if (bad > 0) process.exitCode = 1;
  } finally {
    await Promise.all([...processes].map((child) => stopProcess(child)));
    peers?.close();
    await seeded?.cleanup();
    await db.drop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
