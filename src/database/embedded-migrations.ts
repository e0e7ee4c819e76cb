// Applies prisma/migrations to the embedded database (PGlite), which Prisma's migrate CLI cannot reach.
import type { PGlite } from '@electric-sql/pglite';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// From src/database or dist/database alike.
const MIGRATIONS_DIR = resolve(__dirname, '..', '..', 'prisma', 'migrations');

/** Applies, in order and each in its own transaction, the migrations not yet applied; returns how many. */
export async function applyMigrations(db: PGlite, dir = MIGRATIONS_DIR): Promise<number> {
  await db.exec(
    'CREATE TABLE IF NOT EXISTS "_embedded_migrations" (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const done = new Set(
    (await db.query<{ name: string }>('SELECT name FROM "_embedded_migrations"')).rows.map((r) => r.name),
  );
  const pending = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !done.has(entry.name))
    .map((entry) => entry.name)
    .sort();
  for (const name of pending) {
    const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
    await db.transaction(async (tx) => {
      await tx.exec(sql);
      await tx.query('INSERT INTO "_embedded_migrations" (name) VALUES ($1)', [name]);
    });
  }
  return pending.length;
}
