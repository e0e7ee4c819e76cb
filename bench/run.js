// npm run bench: the deposit services' read path (GET /v1/users/{userId}/funding-sources) of the built
// service in production mode, side by side with floors: bare Fastify + pg servers doing the same work
// (bench/baseline-server.js), on one PostgreSQL. The one-table floor reads bank_accounts alone (the
// columns a migration copies there from plaid_items; skipped, with a message, while they are absent); the
// join baseline runs the service's own JOIN. Both answer exactly what the service answers (checked before
// loading). The service's one-funding-source read and the admin listing's first page are loaded too,
// without a floor. A shared 2-core machine is noisy, so the runs alternate (service, floors, service's
// other routes; again, …) and each ratio is the median of the pairs. The targets' PASS/FAIL lines are
// informative: only a run that breaks or gets a non-2xx answer exits non-zero.
//
// Settings (environment): DATABASE_URL (default: a throwaway database created through
// BENCH_ADMIN_DATABASE_URL, itself defaulting to postgresql://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (32), BENCH_DURATION seconds per run (10), BENCH_WARMUP seconds (3), BENCH_ROUNDS (3),
// BENCH_ADMIN_LIMIT (50, the admin page's limit), BENCH_PROFILE=1 (a CPU profile of the service in
// .artifacts/profile/).
'use strict';
const assert = require('node:assert/strict');
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const { openSync, readFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');
const { freePort, migrate, productionNodeFlags, throwawayDatabase } = require('./lib/harness');

const ROOT = path.join(__dirname, '..');
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
// The service against the one-table floor: req/s ratio at least, p99 and cold start at most this many times
// the floor's, resident memory after the load at most this many MB.
const TARGETS = { ratio: 0.8, p99Factor: 1.5, rssMb: 130, coldStartFactor: 2.5 };
const ADMIN_LIMIT = Number(process.env.BENCH_ADMIN_LIMIT ?? 50);

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

// The columns the one-table floor reads from bank_accounts instead of joining plaid_items. A migration
// copying them there is on its way; until then only the join baseline runs.
const COPIED_COLUMNS = ['item_id', 'institution_id', 'institution_name', 'bluum_funding_source_id'];

/** The COPIED_COLUMNS that bank_accounts does not have (yet). */
async function missingCopiedColumns(url) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_schema = current_schema() AND table_name = 'bank_accounts' AND column_name = ANY($1)`,
      [COPIED_COLUMNS],
    );
    const present = new Set(rows.map((row) => row.column_name));
    return COPIED_COLUMNS.filter((column) => !present.has(column));
  } finally {
    await client.end();
  }
}

/**
 * One user with one bank (item) of three accounts, as a connect would have stored them; with
 * `copied`, the item's columns are written to its accounts too (the one-table floor reads them there).
 */
async function seedUser(client, userId, copied) {
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
  const copiedColumns = copied ? ', item_id, institution_id, bluum_funding_source_id' : '';
  const copiedValues = copied ? ', $10, $11, $12' : '';
  for (const [index, [name, subtype, mask]] of accounts.entries()) {
    await client.query(
      `INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, subtype, mask, status, institution_name, created_at, updated_at${copiedColumns})
       VALUES ($1, $2, $3, $4, $5, 'depository', $6, $7, 'active', $8, now() - make_interval(secs => $9), now()${copiedValues})`,
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
        ...(copied ? [item.itemId, item.institutionId, item.bluumFundingSourceId] : []),
      ],
    );
  }
}

/**
 * The measured user (three funding sources), and enough other users that the admin listing's first page
 * of ADMIN_LIMIT is a full one with a next cursor, as it is in production.
 */
async function seed(url, copied) {
  const userId = `bench-${randomBytes(4).toString('hex')}`;
  const others = Array.from({ length: Math.ceil(ADMIN_LIMIT / 3) }, (_, n) => `${userId}-${n}`);
  const client = new Client({ connectionString: url });
  await client.connect();
  for (const id of [...others, userId]) await seedUser(client, id, copied);
  const cleanup = async () => {
    const ids = [...others, userId];
    await client.query('DELETE FROM bank_accounts WHERE user_id = ANY($1)', [ids]);
    await client.query('DELETE FROM plaid_items WHERE user_id = ANY($1)', [ids]);
    await client.query('DELETE FROM users WHERE id = ANY($1)', [ids]);
    await client.end();
  };
  return { userId, cleanup };
}

/** Starts a server process; resolves once /health/ready answers 200, with the time that took. */
async function start(name, args, env, port) {
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
    if (ready) return { child, coldStartMs: performance.now() - started, url: `http://127.0.0.1:${port}` };
    if (performance.now() - started > 30_000) throw new Error(`${name} was not ready within 30 s`);
    await sleep(5);
  }
}

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
  const processes = [];
  let seeded = null;
  try {
    migrate(db.url);
    const missing = await missingCopiedColumns(db.url);
    const skipped =
      missing.length === 0
        ? null
        : `bank_accounts has no ${missing.join(', ')} yet: the migration copying them from plaid_items is not applied`;
    if (skipped) log(`One-table floor skipped (${skipped}). The join baseline runs alone.`);
    seeded = await seed(db.url, skipped === null);
    const secret = randomBytes(32).toString('base64url');
    const exp = Math.floor(Date.now() / 1000) + 3600;
    const token = signHs256({ sub: seeded.userId, exp }, secret);
    const adminToken = signHs256({ sub: 'bench-admin', roles: ['admin'], exp }, secret);
    // Named for both: the service's reads and the floors' queries go through pools of one size.
    const env = { DATABASE_URL: db.url, AUTH_JWT_SECRET: secret, DATABASE_READ_POOL_SIZE: '5' };

    // One at a time, each started while nothing else is busy: their cold starts are compared.
    // BENCH_PROFILE=1: the service writes a V8 CPU profile to .artifacts/profile/ when it stops.
    const profile =
      process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=.artifacts/profile'] : [];
    const service = {
      name: 'service',
      ...(await start(
        'service',
        [...profile, ...productionNodeFlags(), 'dist/main.js'],
        {
          ...env,
          NODE_ENV: 'production',
          // A Bluum stand-in that the read path must never need: nothing answers at this address.
          BLUUM_BASE_URL: 'https://bluum-stand-in.invalid',
          BLUUM_API_KEY: 'bench_key',
          BLUUM_API_SECRET: 'bench_secret',
          // No reconciliation sweep (it would call Bluum) during the measurements.
          RECONCILE_INTERVAL_SECONDS: '0',
        },
        await freePort(),
      )),
    };
    processes.push(service.child);
    const servers = [service];
    for (const floor of skipped ? ['join'] : ['one-table', 'join']) {
      const name = floor === 'join' ? 'join baseline' : 'one-table floor';
      const server = await start(
        name,
        ['bench/baseline-server.js'],
        { ...env, BENCH_FLOOR: floor },
        await freePort(),
      );
      processes.push(server.child);
      servers.push({ name, ...server });
    }
    const floors = servers.slice(1);
    // The verdicts' reference: the one-table floor, or while it cannot run, the join baseline.
    const reference = floors[0];

    const list = `/v1/users/${seeded.userId}/funding-sources`;
    const get = async (server, route, bearer) => {
      const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 200, `${server.name}: GET ${route} answered ${res.status}`);
      return res.json();
    };
    // Every floor answers exactly what the service answers, with and without a status filter.
    for (const query of ['', '?status=all']) {
      const expected = await get(service, `${list}${query}`, token);
      assert.equal(expected.data.length, 3);
      for (const floor of floors) {
        assert.deepStrictEqual(
          await get(floor, `${list}${query}`, token),
          expected,
          `the ${floor.name} must send exactly what the service sends`,
        );
      }
    }
    const { data } = await get(service, list, token);
    const one = `${list}/${data[0].id}`;
    assert.deepStrictEqual(await get(service, one, token), data[0]);
    const admin = `/v1/admin/funding-sources?limit=${ADMIN_LIMIT}`;
    const page = await get(service, admin, adminToken);
    assert.equal(page.data.length, ADMIN_LIMIT, 'the admin first page is a full page');
    assert.equal(typeof page.nextCursor, 'string', 'the admin first page has a next page');

    // Each round, in this order: the pairs (service, floor) run back to back.
    const plan = [
      ...servers.map((server) => ({ server, what: 'list', route: list, bearer: token })),
      { server: service, what: 'one funding source', route: one, bearer: token },
      { server: service, what: `admin first page (limit ${ADMIN_LIMIT})`, route: admin, bearer: adminToken },
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
    for (const server of servers) server.rssMb = rssMb(server.child.pid);

    log();
    log(
      `${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} round(s); the user has 3 funding sources`,
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
    const pairs = (floor, key) =>
      median(listRuns(service).map((run, round) => run[key] / listRuns(floor)[round][key]));
    const columns = [...servers, ...(skipped ? [{ name: 'one-table floor', skipped: true }] : [])];
    // A skipped floor's column says so; the service has no ratio to itself.
    const cell = (server, value, digits) =>
      (server.skipped ? 'skipped' : value === null ? '' : fmt(value(server), 9, digits)).padStart(18);
    const row = (label, value, digits = 0) =>
      log(`${label.padEnd(40)}${columns.map((server) => cell(server, value, digits)).join('')}`);
    const ratioRow = (label, value) =>
      log(
        `${label.padEnd(40)}${columns.map((server) => cell(server, server === service ? null : value, 2)).join('')}`,
      );
    log();
    log(
      `GET /v1/users/{userId}/funding-sources`.padEnd(40) + columns.map((s) => s.name.padStart(18)).join(''),
    );
    row('req/s (median of rounds)', (s) => median(listRuns(s).map((r) => r.rps)));
    row('p50 ms (median of rounds)', (s) => median(listRuns(s).map((r) => r.p50)), 1);
    row('p99 ms (median of rounds)', (s) => median(listRuns(s).map((r) => r.p99)), 1);
    row('resident memory after the load, MB', (s) => s.rssMb);
    row('cold start, spawn → ready 200, ms', (s) => s.coldStartMs);
    ratioRow('service ÷ floor: req/s (median of pairs)', (floor) => pairs(floor, 'rps'));
    ratioRow('service ÷ floor: p99 (median of pairs)', (floor) => pairs(floor, 'p99'));
    ratioRow('service ÷ floor: cold start', (floor) => service.coldStartMs / floor.coldStartMs);

    log();
    log('Service only (no floor serves these), medians of rounds:');
    for (const [index, { server, what, route }] of plan.entries()) {
      if (server !== service || what === 'list') continue;
      const rs = runs[index];
      log(
        `  ${what.padEnd(30)} req/s ${fmt(median(rs.map((r) => r.rps)), 7)}   p50 ${fmt(median(rs.map((r) => r.p50)), 6, 1)} ms   p99 ${fmt(median(rs.map((r) => r.p99)), 6, 1)} ms   GET ${route.replace(seeded.userId, '{userId}').replace(data[0].id, '{id}')}`,
      );
    }

    // Informative: a miss is printed, and only a run that breaks (or a non-2xx answer) fails.
    const ratio = pairs(reference, 'rps');
    const p99Factor = pairs(reference, 'p99');
    const coldFactor = service.coldStartMs / reference.coldStartMs;
    const verdict = (ok, text) => log(`${ok ? 'PASS' : 'FAIL'}  ${text}`);
    log();
    log(
      skipped
        ? 'Targets, against the JOIN BASELINE (the one-table floor was skipped, see above):'
        : 'Targets, against the one-table floor:',
    );
    verdict(
      ratio >= TARGETS.ratio,
      `req/s service ÷ ${reference.name} ${ratio.toFixed(2)} ≥ ${TARGETS.ratio}`,
    );
    verdict(
      p99Factor <= TARGETS.p99Factor,
      `p99 service ÷ ${reference.name} ${p99Factor.toFixed(2)} ≤ ${TARGETS.p99Factor}`,
    );
    verdict(
      service.rssMb <= TARGETS.rssMb,
      `service resident memory after the load ${service.rssMb.toFixed(0)} MB ≤ ${TARGETS.rssMb} MB`,
    );
    verdict(
      coldFactor <= TARGETS.coldStartFactor,
      `cold start service ÷ ${reference.name} ${coldFactor.toFixed(2)} ≤ ${TARGETS.coldStartFactor}`,
    );
    const bad = runs.flat().reduce((sum, r) => sum + r.bad, 0);
    log(`non-2xx responses, errors, timeouts: ${bad}`);
    if (bad > 0) process.exitCode = 1;
  } finally {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(
      processes.map(
        (child) =>
          new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve))),
      ),
    );
    await seeded?.cleanup();
    await db.drop();
  }
}

main().catch((error) => {
  process.stderr.write(`bench failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
