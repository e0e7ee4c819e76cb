import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { PrismaService } from '../database/prisma.service';
import type { UserRecord } from './user.record';

@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /**
   * Creates the user or points it at `bluumAccountId`. Refuses to move a user that has linked items
   * to another Bluum account: those items exist only under the old one.
   */
  async upsert(id: string, bluumAccountId: string): Promise<{ user: UserRecord; created: boolean }> {
    return this.prisma.$transaction(async (tx) => {
      const { count } = await tx.user.createMany({ data: { id, bluumAccountId }, skipDuplicates: true });
      if (count === 1) return { user: await tx.user.findUniqueOrThrow({ where: { id } }), created: true };

      // Row lock: a concurrent connect checks the same row before storing an item under it.
      await tx.$queryRaw`SELECT id FROM users WHERE id = ${id} FOR UPDATE`;
      const existing = await tx.user.findUniqueOrThrow({ where: { id } });
      if (existing.bluumAccountId === bluumAccountId) return { user: existing, created: false };
      if ((await tx.plaidItem.count({ where: { userId: id } })) > 0) {
        throw new AppError(
          'BLUUM_ACCOUNT_CONFLICT',
          "The user's Bluum account cannot change while funding sources are stored under it.",
        );
      }
      const user = await tx.user.update({ where: { id }, data: { bluumAccountId } });
      return { user, created: false };
    });
  }
}
