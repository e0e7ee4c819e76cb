import { Pool, type PoolClient, type QueryResult } from 'pg';

const PG_NAME_OID = 19;
const PG_TEXT_OID = 25;

// prisma/orm#27403: Prisma's schema engine cannot read columns of PostgreSQL's `name` type through
// @prisma/adapter-pg. Reporting them as `text` (same wire format) lets `migrate deploy` work.
function relabelNameColumns<T extends QueryResult>(result: T): T {
  for (const field of result?.fields ?? []) {
    if (field.dataTypeID === PG_NAME_OID) field.dataTypeID = PG_TEXT_OID;
  }
  return result;
}

function patchQuery<Q extends Pool | PoolClient>(target: Q): Q {
  const original = target.query.bind(target) as (...args: unknown[]) => unknown;
  (target as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const out = original(...args);
    return out instanceof Promise ? out.then((r: QueryResult) => relabelNameColumns(r)) : out;
  };
  return target;
}

/** A pg pool for Prisma's migration engine, with the `name`-type workaround applied. */
export function createPgPool(connectionString: string): Pool {
  // allowExitOnIdle: the CLI exits when done instead of waiting out the idle timeout.
  const pool = patchQuery(new Pool({ connectionString, allowExitOnIdle: true }));
  pool.on('connect', (client) => {
    patchQuery(client);
  });
  return pool;
}
