// npm run bench:scale: every read route of the built service in production mode, on a small database
// (about 1,000 funding sources) and a big one (BENCH_SCALE_N, default one million) side by side, so that a
// route whose cost grows with the table shows. Both databases are seeded by SQL (bench/lib/scale-seed.js:
// N/4 users with 1–3 banks of 1–3 accounts, a few percent in error or disconnected, one audit event per
// account, institutions from a short list, created over the past year), each route is loaded for a fixed
// time at a fixed concurrency, and the table gives req/s and p50/p99 latency per route and database.
//
// Verdicts: every response must be 200 (anything else makes the exit code non-zero); each admin route
// is PASS or MISS against the scale targets (p99 ≤ 50 ms at the big database, and at most 2× its
// p99 at the small one). A MISS fails the run only with BENCH_SCALE_STRICT=1: a shared 2-core machine is
// noisy, and CI runs this with a small N to keep it working, not to judge speed.
//
// Settings (environment): BENCH_SCALE_N (1000000), BENCH_SCALE_SECONDS per route (5),
// BENCH_SCALE_STRICT=1, BENCH_SCALE_ADMIN_DATABASE_URL (postgresql://postgres@127.0.0.1:5432/postgres:
// where the databases bluum_scale_small and bluum_scale_big are created, and dropped at the end).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');
const {
  freePort,
  migrate,
  namedDatabase,
  productionNodeFlags,
  serviceKeys,
  stopProcess,
} = require('./lib/harness');
const { seedFundingSources, userId } = require('./lib/scale-seed');

const ROOT = path.join(__dirname, '..');
const SMALL_N = 1000;
const BIG_N = Number(process.env.BENCH_SCALE_N ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 5);
const STRICT = process.env.BENCH_SCALE_STRICT === '1';
const ADMIN_URL =
  process.env.BENCH_SCALE_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const CONNECTIONS = 8;
const POOL_SIZE = 8;
const TARGETS = { p99Ms: 50, growth: 2 };

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const thousands = (n) => Math.round(n).toLocaleString('en-US');
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** The newest modification time (ms) of the files under `dir`, or 0. */
function newestUnder(dir) {
  if (!fs.existsSync(dir)) return 0;
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      newest = Math.max(newest, fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** `npm run build` unless dist/main.js is newer than every source it is built from. */
function buildIfStale() {
  const main = path.join(ROOT, 'dist', 'main.js');
  const built = fs.existsSync(main) ? fs.statSync(main).mtimeMs : 0;
  const sources = Math.max(
    newestUnder(path.join(ROOT, 'src')),
    ...['tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package.json']
      .map((file) => path.join(ROOT, file))
      .filter((file) => fs.existsSync(file))
      .map((file) => fs.statSync(file).mtimeMs),
  );
  if (built > sources) return log('dist/main.js is up to date with src/');
  log('Building the service (npm run build) …');
  execFileSync('npm', ['run', '-s', 'build'], { cwd: ROOT, stdio: 'inherit' });
}

/** Which code is measured: the last commit of src/ or prisma/, and whether they differ from it. */
function sourceVersion() {
  try {
    const git = (...args) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'src', 'prisma') !== '';
    const commit = git('log', '-1', '--format=%h', '--', 'src', 'prisma');
    return `${commit}${dirty ? ' with uncommitted changes in src/ or prisma/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

/** A fresh database `name`: migrated, seeded with about `n` funding sources. */
async function prepare(name, n, cleanups) {
  const db = await namedDatabase({
    adminUrl: ADMIN_URL,
    name,
    adminVariable: 'BENCH_SCALE_ADMIN_DATABASE_URL',
  });
  cleanups.push(db.drop);
  migrate(db.url);
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    const started = performance.now();
    const { counts, steps } = await seedFundingSources(client, n);
    const seedMs = performance.now() - started;
    // The user every per-user route reads: one from the middle, with the most funding sources there.
    const middle = Math.max(1, Math.round(n / 8));
    const { rows } = await client.query(
      `SELECT user_id, count(*)::int AS n FROM bank_accounts WHERE user_id = ANY($1)
        GROUP BY user_id ORDER BY n DESC, user_id LIMIT 1`,
      [Array.from({ length: 20 }, (_, i) => userId(middle + i))],
    );
    log(
      `${name}: ${thousands(counts.accounts)} funding sources (${thousands(counts.error)} error, ` +
        `${thousands(counts.disconnected)} disconnected), ${thousands(counts.items)} banks, ` +
        `${thousands(counts.users)} users; seeded in ${seconds(seedMs)} ` +
        `(${steps.map((s) => `${s.name} ${seconds(s.ms)}`).join(', ')})`,
    );
    return { ...db, counts, seedMs, user: rows[0].user_id, userFundingSources: rows[0].n };
  } finally {
    await client.end();
  }
}

/** Starts the built service on `db`; resolves once /health/ready answers 200. */
async function startService(db, env, logPath) {
  const port = await freePort();
  const out = fs.openSync(logPath, 'w');
  const child = spawn(process.execPath, [...productionNodeFlags(), 'dist/main.js'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, DATABASE_URL: db.url, PORT: String(port) },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const service = { child, url: `http://127.0.0.1:${port}` };
  const started = performance.now();
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the service exited before it was ready:\n${fs.readFileSync(logPath, 'utf8')}`);
    }
    const ready = await fetch(`${service.url}/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) return service;
    if (performance.now() - started > 30_000) throw new Error(`the service was not ready within 30 s`);
    await sleep(20);
  }
}

function stopService(service) {
  return stopProcess(service.child);
}

/** Waits (up to 30 s) until no query of an earlier load still runs on `db`, so it cannot slow the next. */
async function settle(db) {
  const client = new Client({ connectionString: db.url });
  await client.connect();
  try {
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const { rows } = await client.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()`,
      );
      if (rows[0].n === 0) return;
      await sleep(50);
    }
  } finally {
    await client.end();
  }
}

function load(url, token, duration) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration,
        timeout: 60,
        headers: { authorization: `Bearer ${token}` },
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

/** The routes, in the table's order; `path` may need the first admin page (for its cursor). */
function routes(db, tokens) {
  const user = encodeURIComponent(db.user);
  const admin = tokens.admin;
  return [
    {
      label: '`GET /v1/users/{id}/funding-sources`',
      path: `/v1/users/${user}/funding-sources`,
      token: tokens.service,
    },
    {
      label: '`GET /v1/admin/funding-sources?limit=50`',
      path: '/v1/admin/funding-sources?limit=50',
      token: admin,
    },
    { label: 'same, next page (cursor)', path: 'next-page', token: admin },
    { label: '`…?status=error`', path: '/v1/admin/funding-sources?status=error', token: admin },
    {
      label: '`…?institution=platypus`',
      path: '/v1/admin/funding-sources?institution=platypus',
      token: admin,
    },
    {
      label: '`…?institution=zzz-no-such-bank`',
      path: '/v1/admin/funding-sources?institution=zzz-no-such-bank',
      token: admin,
    },
    { label: '`…?userId={id}`', path: `/v1/admin/funding-sources?userId=${user}`, token: admin },
    {
      label: '`…?institution=platypus&status=error`',
      path: '/v1/admin/funding-sources?institution=platypus&status=error',
      token: admin,
    },
    { label: '`GET /v1/admin/users/{id}/events`', path: `/v1/admin/users/${user}/events`, token: admin },
  ];
}

/** Every route on one database: one checked request each, then SECONDS of load each. */
async function measure(db, env, tokens, logPath) {
  const service = await startService(db, env, logPath);
  try {
    const get = async (urlPath, token) => {
      const res = await fetch(`${service.url}${urlPath}`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(60_000),
      });
      const body = await res.json().catch(() => null);
      return { status: res.status, body };
    };
    const list = routes(db, tokens);
    const first = await get('/v1/admin/funding-sources?limit=50', tokens.admin);
    const cursor = first.body?.nextCursor;
    if (first.status !== 200 || typeof cursor !== 'string') {
      throw new Error(`the first admin page answered ${first.status} without a nextCursor`);
    }
    list.find((r) => r.path === 'next-page').path =
      `/v1/admin/funding-sources?limit=50&cursor=${encodeURIComponent(cursor)}`;

    // Warm-up: the service's code paths, not the database (the first request of each route below).
    await load(`${service.url}${list[0].path}`, list[0].token, Math.min(1, SECONDS));
    const results = [];
    for (const route of list) {
      await settle(db);
      const check = await get(route.path, route.token);
      const rows = Array.isArray(check.body?.data) ? check.body.data.length : null;
      await settle(db);
      const result = await load(`${service.url}${route.path}`, route.token, SECONDS);
      const statuses = Object.entries(result.statusCodeStats ?? {})
        .filter(([status]) => status !== '200')
        .map(([status, { count }]) => `${status}×${count}`);
      const bad = (check.status === 200 ? 0 : 1) + result.non2xx + result.errors + result.timeouts;
      if (check.status !== 200) statuses.unshift(`first request ${check.status}`);
      if (result.errors) statuses.push(`errors×${result.errors}`);
      if (result.timeouts) statuses.push(`timeouts×${result.timeouts}`);
      results.push({
        ...route,
        rows,
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        requests: result.requests.total,
        bad,
        statuses,
      });
      log(
        `  ${route.label.replace(/`/g, '')}: ` +
          `${rows ?? '?'} rows, ${thousands(result.requests.average)} req/s, p50 ${result.latency.p50} ms, ` +
          `p99 ${result.latency.p99} ms${statuses.length ? `, NOT 200: ${statuses.join(' ')}` : ''}`,
      );
    }
    return results;
  } finally {
    await stopService(service);
  }
}

async function main() {
  if (!Number.isInteger(BIG_N) || BIG_N < SMALL_N)
    throw new Error(`BENCH_SCALE_N must be an integer ≥ ${SMALL_N}`);
  if (!(SECONDS > 0)) throw new Error('BENCH_SCALE_SECONDS must be a positive number');
  const cleanups = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => {});
  };
  const interrupted = () => cleanup().finally(() => process.exit(130));
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    buildIfStale();
    const { signHs256 } = require(path.join(ROOT, 'dist', 'auth', 'jwt.js'));
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bluum-scale-'));
    cleanups.push(async () => fs.rmSync(tmp, { recursive: true, force: true }));

    const secret = randomBytes(36).toString('base64url');
    // An admin, and a deposit service that reads any user's funding sources by scope: keys of their own.
    const services = serviceKeys([
      { client: 'scale-admin', admin: true },
      { client: 'deposit-service', scopes: ['funding-sources:read'] },
    ]);
    const tokens = {
      admin: services.token('scale-admin', signHs256, 6 * 3600),
      service: services.token('deposit-service', signHs256, 6 * 3600),
    };
    const env = {
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      DATABASE_POOL_SIZE: String(POOL_SIZE),
      AUTH_JWT_SECRET: secret,
      AUTH_SERVICE_KEYS: services.env,
      // Each route is loaded as hard as it goes by one token: the budget must not be what is measured.
      REQUEST_RATE_LIMIT_PER_MINUTE: '1000000',
      SERVICE_REQUEST_RATE_LIMIT_PER_MINUTE: '10000000',
      // A Bluum stand-in that the read routes must never need: nothing answers at this address.
      BLUUM_BASE_URL: 'https://bluum-stand-in.invalid',
      BLUUM_API_KEY: 'bench_key',
      BLUUM_API_SECRET: 'bench_secret',
      // No background sweep (retention, reconciliation) during the measurements.
      RETENTION_SWEEP_SECONDS: '0',
      RECONCILE_INTERVAL_SECONDS: '0',
    };

    log(
      `bench:scale: ${CONNECTIONS} connections, ${SECONDS} s per route, pool ${POOL_SIZE}; ` +
        `small ${thousands(SMALL_N)}, big ${thousands(BIG_N)} funding sources; code ${sourceVersion()}`,
    );
    log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
    const sides = [];
    for (const [name, n] of [
      ['bluum_scale_small', SMALL_N],
      ['bluum_scale_big', BIG_N],
    ]) {
      const db = await prepare(name, n, cleanups);
      const results = await measure(db, env, tokens, path.join(tmp, `${name}.log`));
      sides.push({ db, results });
      await db.drop();
    }
    report(sides);
  } finally {
    await cleanup();
  }
}

function report([small, big]) {
  const cell = (r) => `${thousands(r.rps)}, ${r.p50}/${r.p99}`;
  log();
  log(
    `| route | ${thousands(small.db.counts.accounts)} funding sources: req/s, p50/p99 ms | ` +
      `${thousands(big.db.counts.accounts)}: req/s, p50/p99 ms |`,
  );
  log('|---|---|---|');
  small.results.forEach((s, index) => log(`| ${s.label} | ${cell(s)} | ${cell(big.results[index])} |`));
  log();
  log(
    `per-user routes read ${small.db.user} (${small.db.userFundingSources} funding sources) and ` +
      `${big.db.user} (${big.db.userFundingSources}); seed of the big database: ${seconds(big.db.seedMs)}`,
  );
  log();

  let misses = 0;
  small.results.forEach((s, index) => {
    if (!s.path.startsWith('/v1/admin/')) return;
    const b = big.results[index];
    const growth = b.p99 / Math.max(s.p99, 1);
    const ok = b.p99 <= TARGETS.p99Ms && growth <= TARGETS.growth;
    if (!ok) misses += 1;
    log(
      `${ok ? 'PASS' : 'MISS'}  ${s.label.replace(/`/g, '')}: p99 ${b.p99} ms at ${thousands(big.db.counts.accounts)} ` +
        `(target ≤ ${TARGETS.p99Ms} ms), ${growth.toFixed(1)}× its ${s.p99} ms at ${thousands(small.db.counts.accounts)} ` +
        `(target ≤ ${TARGETS.growth}×)`,
    );
  });

  const bad = [...small.results, ...big.results].filter((r) => r.bad > 0);
  const badCount = bad.reduce((sum, r) => sum + r.bad, 0);
  log();
  log(`responses other than 200: ${badCount}`);
  for (const r of bad) log(`  ${r.label.replace(/`/g, '')}: ${r.statuses.join(' ')}`);
  log(
    `admin routes missing a target: ${misses}${misses && !STRICT ? ' (not a failure without BENCH_SCALE_STRICT=1)' : ''}`,
  );
  if (badCount > 0 || (STRICT && misses > 0)) process.exitCode = 1;
}

main().catch((error) => {
  process.stderr.write(`bench:scale failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
