// npm run bench:footprint: what the built service costs before it serves anything, in production mode
// with every production feature on (docs, metrics, webhooks, the sweeps): cold start (spawn → /health/ready
// 200) beside a bare Fastify + pg server's (bench/baseline-server.js), what the idle process has loaded
// (modules by package, AsyncLocalStorage, promise hooks) and its resident memory idle and after load on
// the read path. Start-up is noisy on a shared machine: the two cold starts alternate and the medians count.
//
// Settings (environment): DATABASE_URL (default: a throwaway database created through
// BENCH_ADMIN_DATABASE_URL), FOOTPRINT_RUNS cold starts of each (7), FOOTPRINT_LOAD seconds of load (10),
// BENCH_CONNECTIONS (32), FOOTPRINT_JSON=<file> (everything measured, as JSON). Expects `npm run build`.
'use strict';
const { spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const { openSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const autocannon = require('autocannon');
const { Client } = require('pg');
const { freePort, migrate, productionNodeFlags, stopProcess, throwawayDatabase } = require('./lib/harness');

const ROOT = path.join(__dirname, '..');
const RUNS = Number(process.env.FOOTPRINT_RUNS ?? 7);
const LOAD_SECONDS = Number(process.env.FOOTPRINT_LOAD ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const TARGETS = { rssMb: 130, coldStartRatio: 2.5 };

const log = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** One user with three bank accounts on one item: the read path's usual answer. */
async function seed(url) {
  const userId = `footprint-${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await seedRows(client, userId);
  } catch (error) {
    await client.end();
    throw error;
  }
}

async function seedRows(client, userId) {
  const itemRowId = randomUUID();
  const item = { itemId: `item_${randomBytes(8).toString('hex')}`, bluumFundingSourceId: randomUUID() };
  await client.query(
    `INSERT INTO users (id, bluum_account_id, created_at, updated_at) VALUES ($1, $2, now(), now())`,
    [userId, `acct_${userId}`],
  );
  await client.query(
    `INSERT INTO plaid_items (id, user_id, item_id, bluum_funding_source_id, institution_id, institution_name, status, created_at, updated_at)
     VALUES ($1, $2, $3, $4, 'ins_109508', 'First Platypus Bank', 'active', now(), now())`,
    [itemRowId, userId, item.itemId, item.bluumFundingSourceId],
  );
  for (const [index, subtype] of ['checking', 'savings', 'money market'].entries()) {
    await client.query(
      // Each account carries its item's fields, as connect writes them.
      `INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, subtype, mask, status, institution_name, created_at, updated_at, item_id, institution_id, bluum_funding_source_id)
       VALUES ($1, $2, $3, $4, $5, 'depository', $5, '0000', 'active', 'First Platypus Bank', now() - make_interval(secs => $6), now(), $7, 'ins_109508', $8)`,
      [
        randomUUID(),
        itemRowId,
        userId,
        `acc_${randomBytes(8).toString('hex')}`,
        subtype,
        index,
        item.itemId,
        item.bluumFundingSourceId,
      ],
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

/** Spawns a server; resolves once /health/ready answers 200, with the time from spawn to that answer. */
async function start(name, args, env) {
  const port = await freePort();
  const out = openSync(os.devNull, 'w');
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: ['ignore', out, 'inherit'],
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready`);
    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`).then(
      (res) => res.status === 200,
      () => false,
    );
    if (ready) return { child, coldStartMs: performance.now() - started, url: `http://127.0.0.1:${port}` };
    if (performance.now() - started > 30_000) throw new Error(`${name} was not ready within 30 s`);
    await sleep(2);
  }
}

const rssMb = (pid) => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return line ? Number(line[1]) / 1024 : NaN;
};

/** What bench/lib/module-census.js, preloaded into the process, reports on SIGUSR2. */
async function census(child, file) {
  rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (let waited = 0; waited < 5_000; waited += 20) {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      await sleep(20);
    }
  }
  throw new Error('no census from the service');
}

function load(url, token, seconds) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, connections: CONNECTIONS, duration: seconds, headers: { authorization: `Bearer ${token}` } },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

async function main() {
  const { signHs256 } = require(path.join(ROOT, 'dist', 'auth', 'jwt.js'));
  const db = await throwawayDatabase({
    adminUrl: ADMIN_URL,
    prefix: 'bluum_footprint',
    adminVariable: 'BENCH_ADMIN_DATABASE_URL',
  });
  let seeded = null;
  const running = [];
  try {
    migrate(db.url);
    seeded = await seed(db.url);
    const secret = randomBytes(36).toString('base64url');
    const iat = Math.floor(Date.now() / 1000);
    const token = signHs256({ sub: seeded.userId, iat, exp: iat + 3600 }, secret);
    // The service's measure is the one-table floor, as in npm run bench; the pool sizes match.
    const baselineEnv = {
      DATABASE_URL: db.url,
      AUTH_JWT_SECRET: secret,
      DATABASE_READ_POOL_SIZE: '5',
    };
    const serviceEnv = {
      ...baselineEnv,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      BLUUM_BASE_URL: 'https://bluum.invalid',
      BLUUM_API_KEY: 'k',
      BLUUM_API_SECRET: 's',
      // Every production feature on: docs, metrics, a webhook receiver, both sweeps.
      DOCS_ENABLED: 'true',
      DOCS_PUBLIC: 'true',
      // Loaded by one token: above an end user's budget of requests, which is still counted.
      REQUEST_RATE_LIMIT_PER_MINUTE: '1000000',
      METRICS_TOKEN: randomBytes(24).toString('base64url'),
      WEBHOOK_URLS: 'https://receiver.invalid/hooks',
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    };
    const serviceArgs = [...productionNodeFlags(), 'dist/main.js'];

    const cold = { service: [], baseline: [] };
    for (let run = 0; run < RUNS; run += 1) {
      for (const [name, args, env] of [
        ['service', serviceArgs, serviceEnv],
        ['baseline', ['bench/baseline-server.js'], baselineEnv],
      ]) {
        const server = await start(name, args, env);
        cold[name].push(server.coldStartMs);
        await stopProcess(server.child);
      }
    }

    const censusFile = path.join(os.tmpdir(), `footprint-census-${process.pid}.json`);
    const service = await start(
      'service',
      ['-r', path.join(__dirname, 'lib', 'module-census.js'), ...serviceArgs],
      { ...serviceEnv, FOOTPRINT_CENSUS: censusFile },
    );
    running.push(service.child);
    const baseline = await start('baseline', ['bench/baseline-server.js'], baselineEnv);
    running.push(baseline.child);
    await sleep(1_000);
    const idle = await census(service.child, censusFile);
    const idleRss = { service: rssMb(service.child.pid), baseline: rssMb(baseline.child.pid) };

    const route = `/v1/users/${seeded.userId}/funding-sources`;
    const served = await load(`${service.url}${route}`, token, LOAD_SECONDS);
    await load(`${baseline.url}${route}`, token, LOAD_SECONDS);
    const loadedRss = { service: rssMb(service.child.pid), baseline: rssMb(baseline.child.pid) };
    const loaded = await census(service.child, censusFile);
    rmSync(censusFile, { force: true });

    const coldMs = { service: median(cold.service), baseline: median(cold.baseline) };
    const mb = (bytes) => (bytes / 2 ** 20).toFixed(1);
    log(`machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
    log(`cold start, spawn → /health/ready 200 (median of ${RUNS}, alternating):`);
    log(
      `  service  ${coldMs.service.toFixed(0)} ms   [${cold.service.map((ms) => ms.toFixed(0)).join(', ')}]`,
    );
    log(
      `  baseline ${coldMs.baseline.toFixed(0)} ms   [${cold.baseline.map((ms) => ms.toFixed(0)).join(', ')}]`,
    );
    const ratio = coldMs.service / coldMs.baseline;
    const verdict = (ok) => (ok ? 'meets target' : 'MISSES target');
    log(
      `  ratio    ${ratio.toFixed(2)}   ${verdict(ratio <= TARGETS.coldStartRatio)} ≤ ${TARGETS.coldStartRatio}`,
    );
    log(
      `idle service: ${idle.modules} modules loaded; AsyncLocalStorage instances: ${idle.asyncLocalStorages}; promise hooks: ${idle.promiseHooks ? 'on' : 'off'}`,
    );
    const packages = Object.entries(idle.byPackage).sort((a, b) => b[1] - a[1]);
    log(`  modules by package: ${packages.map(([name, count]) => `${name} ${count}`).join(', ')}`);
    log(
      `  heap used ${mb(idle.memory.heapUsed)} MB, heap total ${mb(idle.memory.heapTotal)} MB, external ${mb(idle.memory.external)} MB`,
    );
    log(
      `resident memory: idle service ${idleRss.service.toFixed(0)} MB (baseline ${idleRss.baseline.toFixed(0)} MB)`,
    );
    log(
      `  after ${LOAD_SECONDS} s of load (${CONNECTIONS} connections, ${Math.round(served.requests.average)} req/s, ` +
        `${served.non2xx + served.errors + served.timeouts} bad): service ${loadedRss.service.toFixed(0)} MB ` +
        `${verdict(loadedRss.service <= TARGETS.rssMb)} ≤ ${TARGETS.rssMb} MB (baseline ${loadedRss.baseline.toFixed(0)} MB); ` +
        `promise hooks: ${loaded.promiseHooks ? 'on' : 'off'}`,
    );
    if (process.env.FOOTPRINT_JSON) {
      writeFileSync(
        process.env.FOOTPRINT_JSON,
        JSON.stringify(
          { cold, coldMs, idle, idleRss, loadedRss, loaded, rps: served.requests.average },
          null,
          2,
        ),
      );
    }
    if (served.non2xx + served.errors + served.timeouts > 0) process.exitCode = 1;
  } finally {
    await Promise.all(running.map((child) => stopProcess(child)));
    await seeded?.cleanup();
    await db.drop();
  }
}

main().catch((error) => {
  process.stderr.write(`footprint failed: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
