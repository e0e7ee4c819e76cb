import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';

export type IdempotencyStart =
  | { kind: 'started' }
  | { kind: 'in-flight' }
  | { kind: 'mismatch' }
  | { kind: 'replay'; status: number; body: unknown };

@Injectable()
export class IdempotencyRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records the first use of (subject, key) for a request with this hash, or says what the key holds.
   * The primary key settles concurrent first uses; an expired record, or one still in flight after
   * `staleBefore` (its process died), is replaced.
   */
  async start(
    subject: string,
    key: string,
    requestHash: string,
    expiresAt: Date,
    staleBefore: Date,
  ): Promise<IdempotencyStart> {
    await this.prisma.idempotencyKey.deleteMany({
      where: {
        subject,
        key,
        OR: [{ expiresAt: { lt: new Date() } }, { responseStatus: null, createdAt: { lt: staleBefore } }],
      },
    });
    const { count } = await this.prisma.idempotencyKey.createMany({
      data: { subject, key, requestHash, expiresAt },
      skipDuplicates: true,
    });
    if (count === 1) return { kind: 'started' };
    const row = await this.prisma.idempotencyKey.findUnique({ where: { subject_key: { subject, key } } });
    // Released between our statements: the request that held it failed and may be retried now.
    if (!row) return this.start(subject, key, requestHash, expiresAt, staleBefore);
    if (row.requestHash !== requestHash) return { kind: 'mismatch' };
    if (row.responseStatus === null) return { kind: 'in-flight' };
    return { kind: 'replay', status: row.responseStatus, body: row.responseBody };
  }

  async complete(subject: string, key: string, status: number, body: unknown): Promise<void> {
    await this.prisma.idempotencyKey.updateMany({
      where: { subject, key, responseStatus: null },
      data: { responseStatus: status, responseBody: (body ?? null) as Prisma.InputJsonValue },
    });
  }

  /** Forgets a key whose request failed in a way worth retrying (a 5xx). */
  async release(subject: string, key: string): Promise<void> {
    await this.prisma.idempotencyKey.deleteMany({ where: { subject, key, responseStatus: null } });
  }
}
