import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { PrismaService } from '../database/prisma.service';
import type { UserRecord } from './user.record';

export type UserUpsert =
  | { kind: 'saved'; user: UserRecord; created: boolean }
  | { kind: 'has-items' }
  | { kind: 'bluum-account-taken' };

@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<UserRecord | null> {
    return this.prisma.user.findUnique({ where: { id } });
  }

  /**
   * Creates the user or points it at `bluumAccountId`, unless it has linked items: those exist only
   * under its Bluum account, so such a user is left as it is ('has-items'). One Bluum account belongs to
   * one user: an account another user holds is refused ('bluum-account-taken'), also when two requests
   * race for it (the unique index on users.bluum_account_id decides, and the loser is told so).
   */
  async upsert(id: string, bluumAccountId: string): Promise<UserUpsert> {
    try {
      return await this.prisma.transaction(async (tx): Promise<UserUpsert> => {
        // Skipped on either unique key: the id (the user exists) or the account (another user has it).
        const { count } = await tx.user.createMany({ data: { id, bluumAccountId }, skipDuplicates: true });
        if (count === 1) {
          return { kind: 'saved', user: await tx.user.findUniqueOrThrow({ where: { id } }), created: true };
        }

        // Row lock: a concurrent connect checks the same row before storing an item under it.
        const locked = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM users WHERE id = ${id} FOR UPDATE`;
        // No such user, so the insert was skipped for the account.
        if (locked.length === 0) return { kind: 'bluum-account-taken' };
        const existing = await tx.user.findUniqueOrThrow({ where: { id } });
        if (existing.bluumAccountId === bluumAccountId)
          return { kind: 'saved', user: existing, created: false };
        if ((await tx.plaidItem.count({ where: { userId: id } })) > 0) return { kind: 'has-items' };
        if ((await tx.user.count({ where: { bluumAccountId } })) > 0) return { kind: 'bluum-account-taken' };
        const user = await tx.user.update({ where: { id }, data: { bluumAccountId } });
        return { kind: 'saved', user, created: false };
      });
    } catch (err) {
      // Another user took the account after the check above, and committed first.
      if (isUniqueViolation(err)) return { kind: 'bluum-account-taken' };
      throw err;
    }
  }
}
