// What npm run bench, npm run chaos and npm run bench:scale need to run the built service: throwaway
// databases, a free port, and the node flags the service runs with in production.
'use strict';
const { execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { createServer } = require('node:net');
const path = require('node:path');
const { Client } = require('pg');

const ROOT = path.join(__dirname, '..', '..');

/**
 * A database for the run: DATABASE_URL as given, or a new one named `${prefix}_${pid}` created through
 * `adminUrl` and dropped by `drop()`. `adminVariable` names the setting that changes `adminUrl`.
 */
async function throwawayDatabase({ adminUrl, prefix, adminVariable }) {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, drop: async () => {} };
  const name = `${prefix}_${process.pid}`;
  const admin = new Client({ connectionString: adminUrl });
  await admin.connect().catch((error) => {
    throw new Error(
      `cannot reach PostgreSQL at ${adminUrl} (set DATABASE_URL or ${adminVariable}): ${error.message}`,
    );
  });
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

/**
 * A database of this exact name, created afresh through `adminUrl` (dropped first if a run before left
 * it behind) and dropped by `drop()`; for runs that need several databases side by side.
 */
async function namedDatabase({ adminUrl, name, adminVariable }) {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const run = async (sql) => {
    const client = new Client({ connectionString: adminUrl });
    await client.connect().catch((error) => {
      throw new Error(`cannot reach PostgreSQL at ${adminUrl} (set ${adminVariable}): ${error.message}`);
    });
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** Applies the migrations to `url` the way production does (`npm run db:migrate`). */
function migrate(url) {
  execFileSync('npm', ['run', '-s', 'db:migrate'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

/** SIGTERM, then SIGKILL after 12 s (the service gives requests in flight 10 s); resolves on exit. */
async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
  await exited;
  clearTimeout(timer);
}

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * A self-signed key and certificate for 127.0.0.1 (PEM files in `dir`), made by the openssl CLI: production
 * demands https: of Bluum, the identity provider and webhook receivers; a process trusts it through
 * NODE_EXTRA_CA_CERTS.
 */
function selfSignedCertificate(dir) {
  const key = path.join(dir, 'localhost-key.pem');
  const cert = path.join(dir, 'localhost-cert.pem');
  const args =
    'req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1';
  execFileSync('openssl', [...args.split(' '), '-keyout', key, '-out', cert], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return { key, cert };
}

/**
 * Services of a script's own, as production takes them: one AUTH_SERVICE_KEYS entry each (`{ client,
 * admin, scopes }`), since a token signed with AUTH_JWT_SECRET is an end user's there, its roles and scopes
 * ignored. `env` is the variable's value; `token(client, signHs256, seconds)` signs a token of that client
 * valid for `seconds` (an hour by default).
 */
function serviceKeys(entries) {
  const keys = entries.map(({ client, admin = false, scopes = [] }) => ({
    kid: `${client}-key`,
    client,
    secret: randomBytes(32).toString('base64url'),
    scopes,
    admin,
  }));
  return {
    env: JSON.stringify(keys),
    token: (client, signHs256, seconds = 3600) => {
      const key = keys.find((entry) => entry.client === client);
      if (!key) throw new Error(`no service key for ${client}`);
      const iat = Math.floor(Date.now() / 1000);
      return signHs256({ iat, exp: iat + seconds }, key.secret, { kid: key.kid });
    },
  };
}

/** The node flags of `npm run start:prod`, so the service runs here exactly as it runs in production. */
function productionNodeFlags() {
  const script = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts['start:prod'];
  const match = /\bnode((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js$/.exec(script);
  if (!match) throw new Error(`cannot read the node flags of start:prod: ${script}`);
  return match[1].trim().split(' ').filter(Boolean);
}

module.exports = {
  throwawayDatabase,
  namedDatabase,
  migrate,
  stopProcess,
  freePort,
  productionNodeFlags,
  selfSignedCertificate,
  serviceKeys,
};
