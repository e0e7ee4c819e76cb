// The floors: a bare Fastify + pg server doing exactly the work of the service's read path
// (GET /v1/users/{userId}/funding-sources), and nothing else: verify the same HS256 bearer token the way
// the service does, run one indexed query, send the same JSON.
// Run by bench/run.js with PORT, DATABASE_URL, DATABASE_READ_POOL_SIZE, AUTH_JWT_SECRET and BENCH_FLOOR in
// its environment:
// - BENCH_FLOOR=one-table: the one-table floor. It reads every column the answer needs from bank_accounts
//   alone (item_id, institution_id, institution_name and bluum_funding_source_id copied there from
//   plaid_items); run.js starts it only once a migration has added those columns.
// - BENCH_FLOOR=join: the service's own query, bank_accounts JOIN plaid_items.
'use strict';
const { webcrypto } = require('node:crypto');
const Fastify = require('fastify');
const { Pool } = require('pg');

const FLOOR = process.env.BENCH_FLOOR;
const SQL = {
  'one-table': `SELECT id, user_id, status, account_id, name, type, subtype, mask, created_at, updated_at,
    item_id, institution_id, institution_name, bluum_funding_source_id, transfer_by
    FROM bank_accounts
    WHERE user_id = $1 AND status = ANY($2::"FundingSourceStatus"[])
    ORDER BY created_at DESC, id DESC`,
  join: `SELECT a.id, a.user_id, a.status, a.account_id, a.name, a.type, a.subtype, a.mask, a.created_at,
    a.updated_at, i.item_id, i.institution_id, i.institution_name, i.bluum_funding_source_id, a.transfer_by
    FROM bank_accounts a JOIN plaid_items i ON i.id = a.plaid_item_id
    WHERE a.user_id = $1 AND a.status = ANY($2::"FundingSourceStatus"[])
    ORDER BY a.created_at DESC, a.id DESC`,
}[FLOOR];
if (SQL === undefined) throw new Error(`BENCH_FLOOR must be one-table or join, not ${FLOOR}`);

// run.js gives the floor and the service the same DATABASE_READ_POOL_SIZE (the service's reads run on its
// read pool): they then differ in their code, not in how many queries PostgreSQL runs at once.
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_READ_POOL_SIZE),
});
const USER_ID = /^[A-Za-z0-9._:|@-]{1,128}$/;
const STATUSES = { undefined: ['active', 'error'], all: ['active', 'error', 'disconnected'] };

// Token checks as the service's TokenVerifier makes them: the secret imported once as a WebCrypto HMAC
// key, the signature checked by WebCrypto, and a verified token reused for up to a minute (never past its
// exp) from a bounded cache, insertion order being the eviction order. Without the cache the floor would
// pay a signature check per request that the service does not.
const CLOCK_TOLERANCE_SECONDS = 5;
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_ENTRIES = 5_000;
const key = webcrypto.subtle.importKey(
  'raw',
  new TextEncoder().encode(process.env.AUTH_JWT_SECRET),
  { name: 'HMAC', hash: 'SHA-256' },
  false,
  ['verify'],
);
const verified = new Map();

async function verifyAnew(token) {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  if (head.alg !== 'HS256') return null;
  const ok = await webcrypto.subtle.verify(
    'HMAC',
    await key,
    Buffer.from(parts[2], 'base64url'),
    Buffer.from(`${parts[0]}.${parts[1]}`),
  );
  if (!ok) return null;
  const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  if (typeof payload.exp !== 'number' || payload.exp <= Date.now() / 1000 - CLOCK_TOLERANCE_SECONDS)
    return null;
  if (typeof payload.sub !== 'string' || !USER_ID.test(payload.sub)) return null;
  return payload;
}

async function claims(header) {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  const token = header.slice(7);
  const now = Date.now();
  const seen = verified.get(token);
  if (seen && seen.until > now) return seen.claims;
  const fresh = await verifyAnew(token).catch(() => null);
  if (!fresh) return null;
  verified.delete(token);
  if (verified.size >= VERIFIED_MAX_ENTRIES) verified.delete(verified.keys().next().value);
  verified.set(token, { claims: fresh, until: Math.min(fresh.exp * 1000, now + VERIFIED_TTL_MS) });
  return fresh;
}

const app = Fastify({ logger: false });
app.get('/v1/users/:userId/funding-sources', async (request, reply) => {
  const { userId } = request.params;
  const token = await claims(request.headers.authorization);
  if (!token) return reply.code(401).send({ code: 'UNAUTHENTICATED' });
  const roles = Array.isArray(token.roles) ? token.roles : [];
  const scopes = typeof token.scope === 'string' ? token.scope.split(' ') : [];
  if (token.sub !== userId && !roles.includes('admin') && !scopes.includes('funding-sources:read')) {
    return reply.code(403).send({ code: 'FORBIDDEN' });
  }
  const statuses = STATUSES[request.query.status] ?? [request.query.status];
  if (!USER_ID.test(userId)) return reply.code(400).send({ code: 'VALIDATION_FAILED' });
  const { rows } = await pool.query(SQL, [userId, statuses]);
  return {
    data: rows.map((row) => {
      // How a transfer names the account, as the service shapes it (plaid_options or funding_source_id).
      const plaidOptions =
        row.transfer_by === 'plaid_options' ? { item_id: row.item_id, account_id: row.account_id } : null;
      return {
        id: row.id,
        userId: row.user_id,
        status: row.status,
        institutionId: row.institution_id,
        institutionName: row.institution_name,
        accountName: row.name,
        accountType: row.type,
        accountSubtype: row.subtype,
        mask: row.mask,
        itemId: row.item_id,
        accountId: plaidOptions === null ? null : row.account_id,
        bluumFundingSourceId: row.bluum_funding_source_id,
        plaidOptions,
        transferOptions:
          plaidOptions === null
            ? { funding_source_id: row.bluum_funding_source_id ?? row.account_id }
            : { plaid_options: plaidOptions },
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
      };
    }),
  };
});
// The service's readiness: the database answers and takes writes (it asks its two pools side by side;
// one query on the floor's one pool asks both).
app.get('/health/ready', async (_request, reply) => {
  const { rows } = await pool.query(`SELECT current_setting('transaction_read_only') AS read_only`);
  if (rows[0].read_only !== 'off') return reply.code(503).send({ status: 'error' });
  return { status: 'ok' };
});

app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((error) => {
  console.error(error);
  process.exit(1);
});
