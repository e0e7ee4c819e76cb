// The data of npm run bench:scale, written by SQL alone (generate_series, INSERT … SELECT): about `n`
// funding sources in the shape of production — n/4 users, each with 1–3 banks (plaid_items) of 1–3
// accounts (bank_accounts), a few percent in `error` or `disconnected`, one audit event per account,
// institutions from a short list, created over the past year. The same `n` gives the same shape (the
// choices come from hashes of the row numbers); only the uuids differ between runs.
'use strict';

/** Institutions of the seeded banks; `institution=platypus` matches exactly one of them. */
const INSTITUTIONS = [
  'Platypus Bank',
  'Gingham Credit Union',
  'Tattersall Savings',
  'Tartan Trust',
  'Houndstooth Bank',
];

const ACCOUNTS = [
  ['Plaid Checking', 'checking', '0000'],
  ['Plaid Saving', 'savings', '1111'],
  ['Plaid Money Market', 'money market', '4444'],
];

const userId = (number) => `scale_user_${number}`;

const sqlText = (value) => `'${String(value).replace(/'/g, "''")}'`;
const sqlArray = (values) => `ARRAY[${values.map(sqlText).join(', ')}]`;

// A number in [0, 1) from a hash of `expr` (an integer or text SQL expression); hashint8/hashtext are
// PostgreSQL's own hash functions, the same on every run.
const unit = (expr) => `(abs(hashint8(${expr})::float8) / 2147483649)`;
const pick = (expr, n) => `(abs(hashint8(${expr})) % ${n})`;

/**
 * Fills an empty, migrated database; returns the counts and how long each step took. Writes the item's
 * fields every account carries (item_id, institution_id, institution_name, bluum_funding_source_id)
 * onto its accounts, as the repository does, and the institution names into institution_names.
 */
async function seedFundingSources(client, n) {
  const users = Math.max(1, Math.round(n / 4));

  const steps = [];
  const step = async (name, sql) => {
    const started = performance.now();
    const result = await client.query(sql);
    steps.push({ name, rows: result.rowCount, ms: performance.now() - started });
  };

  // Loaded the way pg_restore loads: every row is consistent by construction (an account's user is its
  // item's user), so the foreign keys' row-by-row checks are skipped for this session, and the indexes
  // the migrations made (all but those a constraint stands on) are dropped here and built again, from
  // their own definitions, once the rows are in — the same indexes, a fraction of the time.
  await client.query(`SET session_replication_role = replica`);
  await client.query(`SET synchronous_commit = off`);
  await client.query(`SET maintenance_work_mem = '256MB'`);
  const indexes = (
    await client.query(
      `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name, pg_get_indexdef(i.indexrelid) AS definition
         FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_class t ON t.oid = i.indrelid
              JOIN pg_namespace n ON n.oid = t.relnamespace
        WHERE n.nspname = current_schema()
          AND t.relname IN ('users', 'plaid_items', 'bank_accounts', 'funding_source_events')
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname`,
    )
  ).rows;
  for (const { name } of indexes) await client.query(`DROP INDEX ${name}`);

  // A user's sign-up time: somewhere in the past year.
  const userCreated = (u) => `now() - interval '365 days' * ${unit(`${u}::int8 * 8 + 1`)}`;
  await step(
    'users',
    `INSERT INTO users (id, bluum_account_id, created_at, updated_at)
     SELECT 'scale_user_' || u, 'acct_scale_' || u, ${userCreated('u')}, ${userCreated('u')}
       FROM generate_series(1, ${users}) AS u`,
  );

  // 1–3 banks per user, linked after sign-up; 2 % of items in error, 1 % disconnected (and so are all
  // their accounts).
  const item = `u::int8 * 8 + b`;
  await step(
    'plaid_items',
    `INSERT INTO plaid_items (id, user_id, item_id, bluum_funding_source_id, institution_id, institution_name,
                              status, created_at, updated_at)
     SELECT gen_random_uuid(), 'scale_user_' || u, 'item_scale_' || u || '_' || b, gen_random_uuid()::text,
            'ins_scale_' || (${pick(`${item} + 3`, INSTITUTIONS.length)} + 1),
            (${sqlArray(INSTITUTIONS)})[${pick(`${item} + 3`, INSTITUTIONS.length)} + 1],
            (CASE ${pick(`${item} + 4`, 100)} WHEN 0 THEN 'error' WHEN 1 THEN 'error' WHEN 2 THEN 'disconnected'
                  ELSE 'active' END)::"FundingSourceStatus",
            t, t
       FROM generate_series(1, ${users}) AS u
            CROSS JOIN LATERAL generate_series(1, 1 + ${pick('u::int8 * 8 + 2', 3)}::int) AS b
            CROSS JOIN LATERAL (
              SELECT (${userCreated('u')}) + (interval '365 days' * ${unit(`${item} + 5`)}) * ${unit(`u::int8 * 8 + 1`)}
            ) AS created(t)`,
  );

  // 1–3 accounts per bank, opened with it; in an active bank with more than one account, 2 % of second
  // accounts were disconnected by the user (the bank stays active: its first account is).
  const names = (column) => `(${sqlArray(ACCOUNTS.map((a) => a[column]))})[a]`;
  await step(
    'bank_accounts',
    `INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, subtype, mask,
                                item_id, institution_id, institution_name, bluum_funding_source_id,
                                status, created_at, updated_at)
     SELECT gen_random_uuid(), i.id, i.user_id, 'acc_' || substr(i.item_id, 6) || '_' || a,
            ${names(0)}, 'depository', ${names(1)}, ${names(2)},
            i.item_id, i.institution_id, i.institution_name, i.bluum_funding_source_id,
            CASE WHEN i.status <> 'active' THEN i.status
                 WHEN a = 2 AND abs(hashtext(i.item_id)) % 50 = 7 THEN 'disconnected'::"FundingSourceStatus"
                 ELSE 'active'::"FundingSourceStatus" END,
            i.created_at + a * interval '1 millisecond', i.created_at + a * interval '1 millisecond'
       FROM plaid_items i
            CROSS JOIN LATERAL generate_series(1, 1 + abs(hashtext(i.item_id || '#')) % 3) AS a`,
  );

  // One audit event per account: its link, by its user, through connect.
  await step(
    'funding_source_events',
    `INSERT INTO funding_source_events (id, user_id, funding_source_id, type, actor, request_id, at, details)
     SELECT gen_random_uuid(), a.user_id, a.id, 'linked',
            jsonb_build_object('subject', a.user_id, 'role', NULL, 'scope', ''), 'scale-seed', a.created_at,
            jsonb_build_object('status', a.status, 'via', 'connect')
       FROM bank_accounts a`,
  );

  {
    const started = performance.now();
    for (const { definition } of indexes) await client.query(definition);
    steps.push({ name: `${indexes.length} indexes`, rows: null, ms: performance.now() - started });
  }

  await step(
    'institution_names',
    `INSERT INTO institution_names (name) SELECT DISTINCT institution_name FROM plaid_items
     ON CONFLICT DO NOTHING`,
  );
  await client.query(`RESET session_replication_role`);
  await step('analyze', 'ANALYZE');

  const counts = (
    await client.query(
      `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM plaid_items)::int AS items,
              (SELECT count(*) FROM bank_accounts)::int AS accounts,
              (SELECT count(*) FROM bank_accounts WHERE status = 'error')::int AS error,
              (SELECT count(*) FROM bank_accounts WHERE status = 'disconnected')::int AS disconnected`,
    )
  ).rows[0];
  return { counts, steps };
}

module.exports = { seedFundingSources, userId };
