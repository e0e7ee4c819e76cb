// The floor: a bare Fastify + pg server doing exactly the work of the service's read path, and nothing
// else: verify the same HS256 bearer token, run one indexed query, send the same JSON.
// Run by bench/run.js with PORT, DATABASE_URL and AUTH_JWT_SECRET in its environment.
'use strict';
const { createHmac, timingSafeEqual } = require('node:crypto');
const Fastify = require('fastify');
const { Pool } = require('pg');

const secret = process.env.AUTH_JWT_SECRET;
// pg's default pool size, as Prisma's pg adapter uses it.
const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const USER_ID = /^[A-Za-z0-9._:|@-]{1,128}$/;
const STATUSES = { undefined: ['active', 'error'], all: ['active', 'error', 'disconnected'] };
const SQL = `SELECT a.id, a.user_id, a.status, a.account_id, a.name, a.type, a.subtype, a.mask, a.created_at,
  a.updated_at, i.item_id, i.institution_id, i.institution_name, i.bluum_funding_source_id
  FROM bank_accounts a JOIN plaid_items i ON i.id = a.plaid_item_id
  WHERE a.user_id = $1 AND a.status = ANY($2::"FundingSourceStatus"[])
  ORDER BY a.created_at DESC, a.id DESC`;

function claims(header) {
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return null;
  const parts = header.slice(7).split('.');
  if (parts.length !== 3) return null;
  const head = JSON.parse(Buffer.from(parts[0], 'base64url').toString());
  if (head.alg !== 'HS256') return null;
  const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest();
  const actual = Buffer.from(parts[2], 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
  const payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString());
  if (typeof payload.exp !== 'number' || payload.exp <= Date.now() / 1000 || typeof payload.sub !== 'string')
    return null;
  return payload;
}

const app = Fastify({ logger: false });
app.get('/v1/users/:userId/funding-sources', async (request, reply) => {
  const { userId } = request.params;
  const token = claims(request.headers.authorization);
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
    data: rows.map((row) => ({
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
      accountId: row.account_id,
      bluumFundingSourceId: row.bluum_funding_source_id,
      plaidOptions: { item_id: row.item_id, account_id: row.account_id },
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    })),
  };
});
app.get('/health/ready', async () => {
  await pool.query('SELECT 1');
  return { status: 'ok' };
});

app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' }).catch((error) => {
  console.error(error);
  process.exit(1);
});
