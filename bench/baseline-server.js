// The one-table floor: a bare Fastify + pg server doing exactly the work of the service's read path
// (GET /v1/users/{userId}/funding-sources), and nothing else: verify the same HS256 bearer token the way
// the service does (lib/floor-common.js), run the one indexed query of bank_accounts alone, send the same
// JSON. Run by bench/run.js and bench/footprint.js with PORT, DATABASE_URL, DATABASE_READ_POOL_SIZE and
// AUTH_JWT_SECRET in its environment.
'use strict';
const Fastify = require('fastify');
const { Pool } = require('pg');
const { STATUSES, USER_ID, fundingSource, mayRead, tokenCheck } = require('./lib/floor-common');

// Aliased to the stored record's field names, which lib/floor-common.js shapes into the answer.
const SQL = `SELECT id, user_id AS "userId", status, account_id AS "accountId", name, type, subtype, mask,
    created_at AS "createdAt", updated_at AS "updatedAt", item_id AS "itemId",
    institution_id AS "institutionId", institution_name AS "institutionName",
    bluum_funding_source_id AS "bluumFundingSourceId", transfer_by AS "transferBy"
  FROM bank_accounts
  WHERE user_id = $1 AND status = ANY($2::"FundingSourceStatus"[])
  ORDER BY created_at DESC, id DESC`;

// run.js gives the floor and the service the same DATABASE_READ_POOL_SIZE (the service's reads run on its
// read pool): they then differ in their code, not in how many queries PostgreSQL runs at once.
const pool = new Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.DATABASE_READ_POOL_SIZE),
});
const claims = tokenCheck(process.env.AUTH_JWT_SECRET);

const app = Fastify({ logger: false });
app.get('/v1/users/:userId/funding-sources', async (request, reply) => {
  const { userId } = request.params;
  const token = await claims(request.headers.authorization);
  if (!token) return reply.code(401).send({ code: 'UNAUTHENTICATED' });
  if (!mayRead(token, userId)) return reply.code(403).send({ code: 'FORBIDDEN' });
  const statuses = STATUSES[request.query.status] ?? [request.query.status];
  if (!USER_ID.test(userId)) return reply.code(400).send({ code: 'VALIDATION_FAILED' });
  const { rows } = await pool.query(SQL, [userId, statuses]);
  return { data: rows.map(fundingSource) };
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
