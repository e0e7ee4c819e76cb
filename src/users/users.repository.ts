import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
import type { UserRecord } from './user.record';

export type UserUpsert = { kind: 'saved'; user: UserRecord; created: boolean } | { kind: 'has-items' };

@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /**
   * Creates the user or points it at `bluumAccountId`, unless it has linked items: those exist only
   * under its Bluum account, so such a user is left as it is ('has-items').
   */
  async upsert(id: string, bluumAccountId: string): Promise<UserUpsert> {
    return this.prisma.$transaction(async (tx): Promise<UserUpsert> => {
      const { count } = await tx.user.createMany({ data: { id, bluumAccountId }, skipDuplicates: true });
      if (count === 1) {
        return { kind: 'saved', user: await tx.user.findUniqueOrThrow({ where: { id } }), created: true };
      }

      // Row lock: a concurrent connect checks the same row before storing an item under it.
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${id} FOR UPDATE`;
      const existing = await tx.user.findUniqueOrThrow({ where: { id } });
      if (existing.bluumAccountId === bluumAccountId)
        return { kind: 'saved', user: existing, created: false };
      if ((await tx.plaidItem.count({ where: { userId: id } })) > 0) return { kind: 'has-items' };
      const user = await tx.user.update({ where: { id }, data: { bluumAccountId } });
      return { kind: 'saved', user, created: false };
    });
  }
}
