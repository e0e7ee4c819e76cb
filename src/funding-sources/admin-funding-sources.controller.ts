import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { ApiErrors, AUTHENTICATED_ROUTE_ERRORS } from '../common/api-errors.decorator';
import { AdminListQuery } from './dto/admin-list.query';
import { FundingSourcePageDto } from './dto/funding-source-page.dto';
import { FundingSourcesService } from './funding-sources.service';

@ApiTags('admin')
@ApiBearerAuth()
@Controller('v1/admin/funding-sources')
export class AdminFundingSourcesController {
  constructor(private readonly fundingSources: FundingSourcesService) {}

  @Get()
  @Access({})
  @ApiOperation({
    operationId: 'adminListFundingSources',
    summary: "List every user's funding sources",
    description:
      'Admins only. Filters: `userId`, `institution` (name contains, ignoring case), `status` (default: all). Newest first, ties broken by id; pass `nextCursor` as `cursor` for the next page. A page never skips or repeats a row while rows are added.',
  })
  @ApiOkResponse({ type: FundingSourcePageDto })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS)
  list(@Query() query: AdminListQuery): Promise<FundingSourcePageDto> {
    return this.fundingSources.adminList(query);
  }
}
