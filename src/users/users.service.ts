import { Inject, Injectable } from '@nestjs/common';
import { AppError, validationFailed } from '../common/app-error';
import type { AuthConfig, BluumConfig, RuntimeConfig } from '../config/app-config';
import { AUTH_CONFIG, BLUUM_CONFIG, RUNTIME_CONFIG } from '../config/config.module';
import { isDemoBluumAccount } from './demo-account';
import type { UserDto } from './dto/user.dto';
import type { UserRecord } from './user.record';
import { UsersRepository } from './users.repository';

const INVESTOR_ID_PREFIX = 'inv_';

@Injectable()
export class UsersService {
  constructor(
    private readonly users: UsersRepository,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    @Inject(RUNTIME_CONFIG) private readonly runtime: RuntimeConfig,
    @Inject(BLUUM_CONFIG) private readonly bluum: BluumConfig,
  ) {}

  async put(id: string, bluumAccountId: string): Promise<{ user: UserDto; created: boolean }> {
    this.refuseForeignGeneration(bluumAccountId);
    await this.refuseDemoUser(id);
    return this.register(id, bluumAccountId);
  }

  /** The user as registered, or registered now under `bluumAccountId`; never moves an existing user. */
  async ensure(id: string, bluumAccountId: string): Promise<UserDto> {
    const existing = await this.users.findById(id);
    return existing ? this.map(existing) : (await this.register(id, bluumAccountId)).user;
  }

  async get(id: string): Promise<UserDto> {
    return this.map(await this.require(id));
  }

  /** The user, or USER_NOT_FOUND. */
  async require(id: string): Promise<UserRecord> {
    const user = await this.users.findById(id);
    if (!user) throw new AppError('USER_NOT_FOUND', `No user ${id} is registered.`);
    return user;
  }

  private async register(id: string, bluumAccountId: string): Promise<{ user: UserDto; created: boolean }> {
    const upserted = await this.users.upsert(id, bluumAccountId);
    if (upserted.kind === 'has-items') {
      // Its items exist only under its current Bluum account.
      throw new AppError(
        'BLUUM_ACCOUNT_CONFLICT',
        "The user's Bluum account cannot change while funding sources are stored under it.",
      );
    }
    if (upserted.kind === 'bluum-account-taken') {
      // Two users on one account could each link, read and disconnect the other's banks at Bluum.
      throw new AppError(
        'BLUUM_ACCOUNT_TAKEN',
        'This Bluum account is registered to another user; one Bluum account belongs to one user.',
      );
    }
    return { user: this.map(upserted.user), created: upserted.created };
  }

  /**
   * Bluum's investors generation names its accounts `inv_…` and answers anything else (a raw UUID, an
   * accounts-generation id) with 400 on every call: a user registered with one could never link a bank.
   */
  private refuseForeignGeneration(bluumAccountId: string): void {
    if (this.bluum.bluumApiVersion !== 'investors') return;
    if (bluumAccountId.startsWith(INVESTOR_ID_PREFIX) && bluumAccountId.length > INVESTOR_ID_PREFIX.length)
      return;
    const message = `bluumAccountId must be Bluum's investor id (${INVESTOR_ID_PREFIX}…): this service speaks Bluum's investors API`;
    throw validationFailed([{ field: 'bluumAccountId', message }]);
  }

  /**
   * A demo user the sandbox registered (development only) keeps its sandbox account: a demo token signed
   * for it may still be live, and would act on whatever account the user is moved to.
   */
  private async refuseDemoUser(id: string): Promise<void> {
    const secret = this.auth.authJwtSecret;
    if (!this.runtime.sandboxEnabled || secret === null) return;
    const existing = await this.users.findById(id);
    if (existing && isDemoBluumAccount(secret, id, existing.bluumAccountId)) {
      throw new AppError(
        'BLUUM_ACCOUNT_CONFLICT',
        `User ${id} is a demo user the sandbox registered; its Bluum account cannot be set. Choose another user id.`,
      );
    }
  }

  private map(user: UserRecord): UserDto {
    return {
      id: user.id,
      bluumAccountId: user.bluumAccountId,
      createdAt: user.createdAt.toISOString(),
      updatedAt: user.updatedAt.toISOString(),
    };
  }
}
