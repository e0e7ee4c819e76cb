// The medium tier: real repositories and services on a migrated database, with no Nest app and no HTTP.
// On PostgreSQL when TEST_DATABASE_URL is set (prepared once by the global setup), else on an in-memory
// embedded PGlite of the spec file's own. Spec files share PostgreSQL, so every factory makes fresh ids
// and a test reads back only what it made.
import type { PGlite } from '@electric-sql/pglite';
import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { BluumGateway } from '../../src/bluum/bluum.gateway';
import type { BluumItem } from '../../src/bluum/bluum.types';
import { type Caller, SYSTEM_CALLER } from '../../src/auth/caller';
import { WebhookDeliveriesRepository } from '../../src/webhooks/webhook-deliveries.repository';
import { WebhookOutbox } from '../../src/webhooks/webhook-outbox';
import { loadConfig } from '../../src/config/app-config';
import { PrismaService } from '../../src/database/prisma.service';
import type { FundingSourceStatus, LinkedItem } from '../../src/funding-sources/funding-source';
import { AdminFundingSourcesService } from '../../src/funding-sources/admin-funding-sources.service';
import { ConnectService } from '../../src/funding-sources/connect.service';
import { FundingSourceEvents } from '../../src/funding-sources/funding-source-events';
import { FundingSourceReads } from '../../src/funding-sources/funding-source-reads';
import { FundingSourceWrites } from '../../src/funding-sources/funding-source-writes';
import { PublicTokenExchanges } from '../../src/funding-sources/public-token-exchanges';
import type { Clock } from '../../src/common/clock';
import { FundingSourcesService } from '../../src/funding-sources/funding-sources.service';
import { itemToStore } from '../../src/funding-sources/reconcile';
import { IdempotencyRepository } from '../../src/idempotency/idempotency.repository';
import { RateLimitRepository } from '../../src/rate-limit/rate-limit.repository';
import { UsersRepository } from '../../src/users/users.repository';
import { UsersService } from '../../src/users/users.service';
import { openEmbeddedDatabase } from '../support/embedded-template';

const BLUUM_STATUS: Record<FundingSourceStatus, BluumItem['status']> = {
  active: 'ACTIVE',
  error: 'ERROR',
  disconnected: 'DISCONNECTED',
};

/** An admin caller, as `@CurrentPrincipal()` gives it. */
export const ADMIN_CALLER: Caller = {
  actor: { subject: 'admin_medium', role: 'admin', scope: '' },
  requestId: 'req-medium',
  clientRequestId: null,
};

/** The one receiver medium specs' outbox writes to (nothing listens: the dispatcher is not running). */
export const MEDIUM_WEBHOOK_URL = 'http://127.0.0.1:9/hooks';

export class MediumContext {
  readonly config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'fatal',
    DATABASE_URL: process.env.TEST_DATABASE_URL,
    BLUUM_TIMEOUT_MS: '200',
    // Every change in a medium spec also writes the outbox, as it does when deposit services listen.
    WEBHOOK_URLS: MEDIUM_WEBHOOK_URL,
    WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
  });
  readonly prisma: PrismaService;
  readonly reads: FundingSourceReads;
  readonly writes: FundingSourceWrites;
  readonly exchanges: PublicTokenExchanges;
  readonly events: FundingSourceEvents;
  readonly users: UsersRepository;
  readonly idempotency: IdempotencyRepository;
  readonly rateLimits: RateLimitRepository;
  readonly webhookDeliveries: WebhookDeliveriesRepository;

  private constructor(private readonly embedded: PGlite | null) {
    const config = embedded ? { ...this.config, databaseUrl: null } : this.config;
    this.prisma = new PrismaService({ ...config, embeddedDatabaseDir: 'memory://' }, embedded);
    this.reads = new FundingSourceReads(this.prisma);
    this.events = new FundingSourceEvents(this.prisma, new WebhookOutbox(this.config));
    this.exchanges = new PublicTokenExchanges(this.prisma);
    this.writes = new FundingSourceWrites(this.prisma, this.events, this.exchanges);
    this.users = new UsersRepository(this.prisma);
    this.idempotency = new IdempotencyRepository(this.prisma);
    this.rateLimits = new RateLimitRepository(this.prisma);
    this.webhookDeliveries = new WebhookDeliveriesRepository(this.prisma);
  }

  /**
   * `ownDatabase`: an embedded database of the spec's own even when TEST_DATABASE_URL is set, for a
   * spec that runs something over every row (a whole sweep), which on a shared PostgreSQL would touch
   * other specs' data.
   */
  static async open(options: { ownDatabase?: boolean } = {}): Promise<MediumContext> {
    // Nest's own start-up lines (the embedded database's migrations) are noise here.
    Logger.overrideLogger(false);
    const shared = process.env.TEST_DATABASE_URL !== undefined && options.ownDatabase !== true;
    const embedded = shared ? null : await openEmbeddedDatabase();
    const ctx = new MediumContext(embedded);
    await ctx.prisma.onModuleInit();
    return ctx;
  }

  async close(): Promise<void> {
    await this.prisma.onModuleDestroy();
    await this.embedded?.close();
  }

  /** The funding-sources service on the real repositories, calling `bluum` (a strict fake of the port). */
  service(bluum: Partial<BluumGateway> = {}, clock?: Clock): FundingSourcesService {
    return new FundingSourcesService(
      new UsersService(this.users, this.config, this.config, this.config),
      this.reads,
      this.writes,
      strictGateway(bluum),
      this.config,
      clock,
    );
  }

  /** Connect on the real repositories, calling `bluum` (a strict fake of the port). */
  connects(bluum: Partial<BluumGateway> = {}, clock?: Clock): ConnectService {
    return new ConnectService(
      new UsersService(this.users, this.config, this.config, this.config),
      this.writes,
      this.exchanges,
      strictGateway(bluum),
      this.config,
      clock,
    );
  }

  /** The admin routes' service (listing, audit trail) on the real repositories. */
  adminService(): AdminFundingSourcesService {
    return new AdminFundingSourcesService(
      new UsersService(this.users, this.config, this.config, this.config),
      this.reads,
      this.events,
    );
  }

  /** A registered user with a Bluum account of its own. */
  async newUser(): Promise<{ id: string; bluumAccountId: string }> {
    const id = `user_${randomUUID()}`;
    const bluumAccountId = `acct_${randomUUID()}`;
    await this.prisma.user.create({ data: { id, bluumAccountId } });
    return { id, bluumAccountId };
  }

  /** Bluum's view of an item with `accounts` accounts, as its list or connect reply would give it. */
  bluumItem(
    options: { accounts?: number; status?: FundingSourceStatus; institutionName?: string } = {},
  ): BluumItem {
    const itemId = `item_${randomUUID()}`;
    return {
      id: randomUUID(),
      itemId,
      institutionId: 'ins_3',
      institutionName: options.institutionName ?? 'Platypus Bank',
      status: BLUUM_STATUS[options.status ?? 'active'],
      accounts: Array.from({ length: options.accounts ?? 1 }, (_, index) => ({
        accountId: `acc_${index}_${itemId}`,
        fundingSourceId: null,
        accountName: `Account ${index}`,
        accountType: 'depository',
        accountSubtype: index % 2 === 0 ? 'checking' : null,
        mask: String(1000 + index),
      })),
    };
  }

  /**
   * An item stored the way a connect stores it (through the repository, with its audit events), for
   * `user` (a new one when not given).
   */
  async newLinkedItem(
    options: {
      user?: { id: string; bluumAccountId: string };
      accounts?: number;
      status?: FundingSourceStatus;
      institutionName?: string;
      caller?: Caller;
    } = {},
  ): Promise<LinkedItem & { user: { id: string; bluumAccountId: string }; bluumItem: BluumItem }> {
    const user = options.user ?? (await this.newUser());
    const bluumItem = this.bluumItem(options);
    const saved = await this.saveItem(user, bluumItem, options.caller);
    if (saved.kind !== 'saved') throw new Error(`newLinkedItem: ${saved.kind}`);
    return { ...saved.linked, user, bluumItem };
  }

  /** Stores `bluumItem` for `user` as a connect does, after claiming a fresh public token. */
  async saveItem(
    user: { id: string; bluumAccountId: string },
    bluumItem: BluumItem,
    caller: Caller = SYSTEM_CALLER,
    /** The institution id the client claimed (connect's metadata). */
    claimedInstitutionId: string | null = null,
  ): ReturnType<FundingSourceWrites['saveLinkedItem']> {
    const tokenHash = randomUUID().replace(/-/g, '').padEnd(64, '0');
    await this.exchanges.claim(tokenHash, user.id, new Date(0));
    return this.writes.saveLinkedItem(
      user.id,
      user.bluumAccountId,
      itemToStore(bluumItem),
      { tokenHash, caller },
      claimedInstitutionId,
    );
  }
}

// A Bluum port whose every method not given fails the test when called.
function strictGateway(methods: Partial<BluumGateway>): BluumGateway {
  return new Proxy(methods, {
    get(target, prop: string) {
      if (prop in target) return target[prop as keyof BluumGateway];
      if (prop === 'then') return undefined;
      throw new Error(`unexpected Bluum call: ${prop}`);
    },
  }) as BluumGateway;
}
