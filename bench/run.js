// npm run bench: the deposit services' read path (GET /v1/users/{userId}/funding-sources) of the built
// service in production mode, side by side with a bare Fastify + pg server doing the same work
// (bench/baseline-server.js), on one PostgreSQL. Only the ratio between the two is a verdict: a shared
// 2-core machine is noisy, so the runs alternate (A, B, A, B, …) and the ratio is the median of the pairs.
//
// Settings (environment): DATABASE_URL (default: a throwaway database created through
// BENCH_ADMIN_DATABASE_URL, itself defaulting to postgresql://postgres@127.0.0.1:5432/postgres),
// BENCH_CONNECTIONS (32), BENCH_DURATION seconds per run (10), BENCH_WARMUP seconds (3), BENCH_ROUNDS (3),
// BENCH_PROFILE=1 (a CPU profile of the service in .artifacts/profile/).
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
const TARGETS = { ratio: 0.7, p99Ms: 25, coldStartMs: 1500, rssMb: 150 };

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One user with one bank (item) of three accounts, as a connect would have stored them. */
async function seed(url) {
  const userId = `bench-${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: url });
  await client.connect();
  const itemRowId = randomUUID();
  await client.query(
    // One Bluum account belongs to one user (a unique index): each run's user has its own.
    `INSERT INTO users (id, bluum_account_id, created_at, updated_at) VALUES ($1, $2, now(), now())`,
    [userId, `acct_${userId}`],
  );
  await client.query(
    `INSERT INTO plaid_items (id, user_id, item_id, bluum_funding_source_id, institution_id, institution_name, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'ins_109508', 'First Platypus Bank', 'active', now(), now())`,
    [itemRowId, userId, `item_${randomBytes(8).toString('hex')}`, randomUUID()],
  );
  const accounts = [
    ['Plaid Checking', 'checking', '0000'],
    ['Plaid Saving', 'savings', '1111'],
    ['Plaid Money Market', 'money market', '4444'],
  ];
  for (const [index, [name, subtype, mask]] of accounts.entries()) {
    await client.query(
      `INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, subtype, mask, status, institution_name, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, 'depository', $6, $7, 'active', 'First Platypus Bank', now() - make_interval(secs => $8), now())`,
      [randomUUID(), itemRowId, userId, `acc_${randomBytes(8).toString('hex')}`, name, subtype, mask, index],
    );
  }
  const cleanup = async () => {
    await client.query('DELETE FROM bank_accounts WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM plaid_items WHERE user_id = $1', [userId]);
    await client.query('DELETE FROM users WHERE id = $1', [userId]);
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
    seeded = await seed(db.url);
    const secret = randomBytes(32).toString('base64url');
    const token = signHs256({ sub: seeded.userId, exp: Math.floor(Date.now() / 1000) + 3600 }, secret);
    // Named for both: the service's reads and the floor's queries go through pools of one size.
    const env = { DATABASE_URL: db.url, AUTH_JWT_SECRET: secret, DATABASE_READ_POOL_SIZE: '5' };

    // BENCH_PROFILE=1: the service writes a V8 CPU profile to .artifacts/profile/ when it stops.
    const profile =
      process.env.BENCH_PROFILE === '1' ? ['--cpu-prof', '--cpu-prof-dir=.artifacts/profile'] : [];
    const service = await start(
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
    );
    processes.push(service.child);
    const baseline = await start('baseline', ['bench/baseline-server.js'], env, await freePort());
    processes.push(baseline.child);

    const route = `/v1/users/${seeded.userId}/funding-sources`;
    const bodies = await Promise.all(
      [service, baseline].map(async (server) => {
        const res = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(
          res.status,
          200,
          `${server === service ? 'service' : 'baseline'} answered ${res.status}`,
        );
        return res.json();
      }),
    );
    assert.deepStrictEqual(bodies[1], bodies[0], 'the baseline must send exactly what the service sends');
    assert.equal(bodies[0].data.length, 3);

    log(`Warm-up: ${WARMUP} s each …`);
    await load(`${service.url}${route}`, token, WARMUP);
    await load(`${baseline.url}${route}`, token, WARMUP);

    const rounds = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      log(
        `Round ${round}/${ROUNDS}: service, then baseline (${CONNECTIONS} connections, ${DURATION} s each) …`,
      );
      const a = summary(await load(`${service.url}${route}`, token, DURATION));
      const b = summary(await load(`${baseline.url}${route}`, token, DURATION));
      rounds.push({ a, b, ratio: a.rps / b.rps });
    }
    const rss = { service: rssMb(service.child.pid), baseline: rssMb(baseline.child.pid) };

    const fmt = (n, digits = 0) => n.toFixed(digits).padStart(8);
    log();
    log(
      `GET /v1/users/{userId}/funding-sources (3 funding sources), ${CONNECTIONS} connections, ${DURATION} s per run`,
    );
    log(
      `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    );
    log();
    log('round   service req/s  p50 ms  p99 ms | baseline req/s  p50 ms  p99 ms |  ratio');
    for (const [index, { a, b, ratio }] of rounds.entries()) {
      log(
        `${String(index + 1).padStart(5)}   ${fmt(a.rps)}      ${fmt(a.p50, 1)} ${fmt(a.p99, 1)} |  ${fmt(b.rps)}      ${fmt(b.p50, 1)} ${fmt(b.p99, 1)} | ${ratio.toFixed(2).padStart(6)}`,
      );
    }
    const ratio = median(rounds.map((r) => r.ratio));
    const p99 = Math.max(...rounds.map((r) => r.a.p99));
    const bad = rounds.reduce((sum, r) => sum + r.a.bad + r.b.bad, 0);
    const verdict = (ok) => (ok ? 'meets target' : 'MISSES target');
    log();
    log(
      `ratio service/baseline (median of pairs): ${ratio.toFixed(2)}   ${verdict(ratio >= TARGETS.ratio)} ≥ ${TARGETS.ratio}`,
    );
    log(
      `service p99 (worst run):                 ${p99.toFixed(1)} ms   ${verdict(p99 <= TARGETS.p99Ms)} ≤ ${TARGETS.p99Ms} ms`,
    );
    log(
      `service cold start (spawn → ready):      ${service.coldStartMs.toFixed(0)} ms   ${verdict(service.coldStartMs <= TARGETS.coldStartMs)} ≤ ${TARGETS.coldStartMs} ms`,
    );
    log(
      `service resident memory after load:      ${rss.service.toFixed(0)} MB   ${verdict(rss.service <= TARGETS.rssMb)} ≤ ${TARGETS.rssMb} MB (baseline: ${rss.baseline.toFixed(0)} MB, cold start ${baseline.coldStartMs.toFixed(0)} ms)`,
    );
    log(`non-2xx responses, errors, timeouts:     ${bad}`);
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
