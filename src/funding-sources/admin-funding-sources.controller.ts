import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Route } from '../common/route.decorator';
import { UserIdParam } from '../users/dto/user-id.param';
import { AdminListQuery } from './dto/admin-list.query';
import { EventsQuery, FundingSourceEventPageDto } from './dto/funding-source-event.dto';
import { FundingSourcePageDto } from './dto/funding-source-page.dto';
import { AdminFundingSourcesService } from './admin-funding-sources.service';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin')
export class AdminFundingSourcesController {
  constructor(private readonly admin: AdminFundingSourcesService) {}

  @Get('funding-sources')
  @Route({
    operationId: 'adminListFundingSources',
    summary: "List every user's funding sources",
    description:
      'Filters: `userId`, `institution` (name contains this text, ignoring case; `%` and `_` are not wildcards), `status` (default: all). Newest first, ties broken by id; pass `nextCursor` as `cursor` for the next page. The pages of one listing (its first page and the cursors that follow) show exactly the funding sources that existed when the first page was read, each once, while rows are added meanwhile; a new listing shows the new ones. Every filter is served by an index: a page costs the same at a thousand funding sources or millions.',
    access: {},
    responses: [{ status: 200, type: FundingSourcePageDto }],
  })
  list(@Query() query: AdminListQuery): Promise<FundingSourcePageDto> {
    return this.admin.list(query);
  }

  @Get('users/:userId/events')
  @Route({
    operationId: 'adminListUserEvents',
    summary: "A user's audit trail",
    description:
      "Every change to the user's funding sources (linked, updated, status_changed, disconnected) with the actor (subject, role, scope), the request id and the time; written in the same transaction as the change. Newest first, paged like the admin list.",
    access: {},
    responses: [{ status: 200, type: FundingSourceEventPageDto }],
    errors: ['USER_NOT_FOUND'],
  })
  events(@Param() { userId }: UserIdParam, @Query() query: EventsQuery): Promise<FundingSourceEventPageDto> {
    return this.admin.events(userId, query);
  }
}
