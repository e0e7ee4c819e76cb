// Types for bench/lib/harness.js (plain CommonJS, shared by the benchmarks), so bench/chaos.ts can import it.
import type { ChildProcess } from 'node:child_process';

export interface Database {
  url: string;
  drop(): Promise<void>;
}

/** DATABASE_URL as given, or a new database `${prefix}_${pid}` made through `adminUrl`, dropped by drop(). */
export function throwawayDatabase(options: {
  adminUrl: string;
  prefix: string;
  adminVariable: string;
}): Promise<Database>;

/** A database of this exact name, made afresh through `adminUrl`. */
export function namedDatabase(options: {
  adminUrl: string;
  name: string;
  adminVariable: string;
}): Promise<Database & { name: string }>;

/** Applies the migrations to `url` the way production does (`npm run db:migrate`). */
export function migrate(url: string): void;

/** SIGTERM, then SIGKILL after 12 s; resolves on exit. */
export function stopProcess(child: ChildProcess): Promise<void>;

export function freePort(): Promise<number>;

/** The node flags of `npm run start:prod`. */
export function productionNodeFlags(): string[];

/** A self-signed key and certificate (PEM file paths) for 127.0.0.1, made in `dir` by the openssl CLI. */
export function selfSignedCertificate(dir: string): { key: string; cert: string };

/** Services as production takes them: AUTH_SERVICE_KEYS's value (`env`) and a token of each client. */
export function serviceKeys(entries: Array<{ client: string; admin?: boolean; scopes?: string[] }>): {
  env: string;
  token(
    client: string,
    signHs256: (payload: object, secret: string, options?: { kid?: string }) => string,
    seconds?: number,
  ): string;
};
