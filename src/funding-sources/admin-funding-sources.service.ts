import { Injectable } from '@nestjs/common';
import { UsersService } from '../users/users.service';
import type { AdminListQuery } from './dto/admin-list.query';
import type { EventsQuery, FundingSourceEventPageDto } from './dto/funding-source-event.dto';
import type { FundingSourcePageDto } from './dto/funding-source-page.dto';
import { toFundingSource } from './funding-source';
import { FundingSourceEvents } from './funding-source-events';
import { FundingSourceReads } from './funding-source-reads';
import { decodeCursor, toPage } from './page-cursor';

/** The admin routes' reads: every user's funding sources and a user's audit trail, by keyset pages. */
@Injectable()
export class AdminFundingSourcesService {
  constructor(
    private readonly users: UsersService,
    private readonly reads: FundingSourceReads,
    private readonly auditTrail: FundingSourceEvents,
  ) {}

  /** Every user's funding sources, for admins: filtered, newest first, by keyset pages. */
  async list(query: AdminListQuery): Promise<FundingSourcePageDto> {
    const limit = query.limit ?? 50;
    const status = query.status ?? 'all';
    const { rows, snapshot } = await this.reads.listPage({
      userId: query.userId,
      institution: query.institution,
      status: status === 'all' ? undefined : status,
      // One more than asked tells whether another page follows.
      limit: limit + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor, { withSnapshot: true }),
    });
    const { page, nextCursor } = toPage(rows, limit, ({ createdAt, id }) => ({ createdAt, id, snapshot }));
    return { data: page.map(toFundingSource), nextCursor };
  }

  /** A user's audit trail, for admins, by keyset pages. */
  async events(userId: string, query: EventsQuery): Promise<FundingSourceEventPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.auditTrail.list(
      userId,
      limit + 1,
      query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    );
    if (rows.length === 0 && query.cursor === undefined) await this.users.require(userId);
    const { page, nextCursor } = toPage(rows, limit, (event) => ({ createdAt: event.at, id: event.id }));
    return {
      nextCursor,
      data: page.map((event) => ({ ...event, at: event.at.toISOString() })),
    };
  }
}
