import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiCreatedResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.decorator';
import type { Caller } from '../auth/caller';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import {
  ApiErrors,
  AUTHENTICATED_ROUTE_ERRORS,
  BLUUM_ERRORS,
  BODY_ERRORS,
} from '../common/api-errors.decorator';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { WriteRateLimitGuard } from '../rate-limit/write-rate-limit.guard';
import { PatternPipe, QueryPipe, UUID_PATTERN } from '../common/param-pipes';
import {
  USER_ID_DESCRIPTION,
  USER_ID_MESSAGE,
  USER_ID_PATTERN,
  UserIdParam,
} from '../users/dto/user-id.param';
import { ConnectDto } from './dto/connect.dto';
import { ConnectResponseDto } from './dto/connect-response.dto';
import { CreateLinkTokenDto } from './dto/create-link-token.dto';
import { FundingSourceDto, FundingSourceListDto } from './dto/funding-source.dto';
import { FUNDING_SOURCE_ID_MESSAGE, FundingSourceParams } from './dto/funding-source.params';
import { LinkTokenDto } from './dto/link-token.dto';
import { STATUS_FILTERS, type StatusFilter } from './dto/list-funding-sources.query';
import { SyncResultDto } from './dto/sync-result.dto';
import { FundingSourcesService } from './funding-sources.service';

// The read routes (list, get) validate with plain pipes instead of DTO classes: see common/param-pipes.ts.
const USER_ID_PIPE = new PatternPipe('userId', USER_ID_PATTERN, USER_ID_MESSAGE);
const FUNDING_SOURCE_ID_PIPE = new PatternPipe('fundingSourceId', UUID_PATTERN, FUNDING_SOURCE_ID_MESSAGE);
const LIST_QUERY_PIPE = new QueryPipe<'status', StatusFilter>({ status: STATUS_FILTERS });

@ApiTags('funding-sources')
@ApiBearerAuth()
@Controller('v1/users/:userId/funding-sources')
export class FundingSourcesController {
  constructor(private readonly fundingSources: FundingSourcesService) {}

  @Post('plaid/link-token')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(201)
  @Access({ self: true })
  @ApiOperation({
    operationId: 'createPlaidLinkToken',
    summary: 'Get a Plaid Link token',
    description:
      "Step 1 of bank linking: asks Bluum for a Plaid `link_token` for the user's Bluum account. Open Plaid Link with `linkToken`, or redirect to `hostedLinkUrl` when `enableHostedLink` is true. The user itself or admins.",
  })
  @ApiBody({ type: CreateLinkTokenDto, required: false })
  @ApiCreatedResponse({ type: LinkTokenDto })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS, ...BODY_ERRORS, 'USER_NOT_FOUND', 'RATE_LIMITED', ...BLUUM_ERRORS)
  createLinkToken(@Param() { userId }: UserIdParam, @Body() body: CreateLinkTokenDto): Promise<LinkTokenDto> {
    return this.fundingSources.createLinkToken(userId, body);
  }

  @Post('plaid/connect')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(201)
  @Access({ self: true })
  @UseInterceptors(IdempotencyInterceptor)
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description:
      'Makes a retry safe: the first response is kept 24 hours and replayed (header `Idempotent-Replayed: true`) for the same key and body; the same key with another body is a 422, and while the first request still runs a 409. Scoped to the caller.',
  })
  @ApiOperation({
    operationId: 'connectPlaidItem',
    summary: 'Exchange a Plaid public token and store the linked bank',
    description:
      "Step 2 of bank linking: sends Plaid Link's `public_token` to Bluum and stores the item with every bank account in it, one funding source per account. Nothing is stored unless Bluum accepted the token. The same public token sent again (Plaid Link's onSuccess can fire twice) returns the stored response with 200 and does not call Bluum again. The user itself or admins.",
  })
  @ApiBody({ type: ConnectDto })
  @ApiCreatedResponse({ type: ConnectResponseDto, description: 'Linked and stored' })
  @ApiOkResponse({
    type: ConnectResponseDto,
    description: 'This public token was already exchanged: the stored response, Bluum not called again',
  })
  @ApiErrors(
    ...AUTHENTICATED_ROUTE_ERRORS,
    ...BODY_ERRORS,
    'USER_NOT_FOUND',
    'BLUUM_ACCOUNT_CONFLICT',
    'ITEM_LINKED_TO_ANOTHER_USER',
    'CONNECT_IN_PROGRESS',
    'IDEMPOTENCY_KEY_IN_FLIGHT',
    'IDEMPOTENCY_KEY_REUSED',
    'PUBLIC_TOKEN_REJECTED',
    'RATE_LIMITED',
    ...BLUUM_ERRORS,
  )
  async connect(
    @Param() { userId }: UserIdParam,
    @Body() body: ConnectDto,
    @CurrentPrincipal() caller: Caller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectResponseDto> {
    const { response, replayed } = await this.fundingSources.connect(userId, body.publicToken, caller);
    void reply.status(replayed ? 200 : 201);
    return response;
  }

  @Post('sync')
  @UseGuards(WriteRateLimitGuard)
  @HttpCode(200)
  @Access({ self: true })
  @ApiOperation({
    operationId: 'syncFundingSources',
    summary: "Bring the stored funding sources in line with Bluum's",
    description:
      "Reads Bluum's list of the user's items and adds what a lost connect reply left out, takes Bluum's details and statuses (`ERROR` → `error`, `DISCONNECTED` → `disconnected`), and never duplicates. Use it after a connect that answered 502 or 504. The user itself or admins.",
  })
  @ApiOkResponse({ type: SyncResultDto })
  @ApiErrors(
    ...AUTHENTICATED_ROUTE_ERRORS,
    'USER_NOT_FOUND',
    'BLUUM_ACCOUNT_CONFLICT',
    'RATE_LIMITED',
    ...BLUUM_ERRORS,
  )
  sync(@Param() { userId }: UserIdParam, @CurrentPrincipal() caller: Caller): Promise<SyncResultDto> {
    return this.fundingSources.sync(userId, caller);
  }

  @Delete(':fundingSourceId')
  @UseGuards(WriteRateLimitGuard)
  @Access({ self: true })
  @ApiOperation({
    operationId: 'disconnectFundingSource',
    summary: 'Disconnect a funding source',
    description:
      'Marks the bank account `disconnected` (soft delete: it stays visible under `?status=disconnected|all`, and deposit services can tell from `status` that it may no longer be used). When it is the last active account of its item, the item is disconnected at Bluum first; if Bluum fails, nothing changes. Disconnecting twice is harmless, and so is repeating one that failed (a timeout included). A disconnect sent while another is in progress at Bluum for the same bank waits for it and answers its result, or 409 `DISCONNECT_IN_PROGRESS` if it outlasts the Bluum budget. The user itself or admins.',
  })
  @ApiOkResponse({ type: FundingSourceDto })
  @ApiErrors(
    ...AUTHENTICATED_ROUTE_ERRORS,
    'USER_NOT_FOUND',
    'FUNDING_SOURCE_NOT_FOUND',
    'DISCONNECT_IN_PROGRESS',
    'RATE_LIMITED',
    ...BLUUM_ERRORS,
  )
  disconnect(
    @Param() { userId, fundingSourceId }: FundingSourceParams,
    @CurrentPrincipal() caller: Caller,
  ): Promise<FundingSourceDto> {
    return this.fundingSources.disconnect(userId, fundingSourceId, caller);
  }

  @Get()
  @Access({ self: true, scope: 'funding-sources:read' })
  @ApiOperation({
    operationId: 'listFundingSources',
    summary: "List a user's funding sources",
    description:
      'Newest first. Without `status`, every funding source that is not disconnected. Deposit services pass `plaidOptions` to Bluum as `plaid_options`. The user itself, admins, or scope `funding-sources:read`.',
  })
  @ApiOkResponse({ type: FundingSourceListDto })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS, 'USER_NOT_FOUND')
  @ApiParam({ name: 'userId', description: USER_ID_DESCRIPTION, example: 'user_123' })
  @ApiQuery({
    name: 'status',
    required: false,
    enum: STATUS_FILTERS,
    description: 'Without it: every funding source that is not disconnected',
  })
  async list(
    @Param('userId', USER_ID_PIPE) userId: string,
    @Query(LIST_QUERY_PIPE) query: { status?: StatusFilter },
  ): Promise<FundingSourceListDto> {
    return { data: await this.fundingSources.list(userId, query.status) };
  }

  @Get(':fundingSourceId')
  @Access({ self: true, scope: 'funding-sources:read' })
  @ApiOperation({
    operationId: 'getFundingSource',
    summary: 'Get one funding source',
    description:
      "404 for an id that is not this user's. The user itself, admins, or scope `funding-sources:read`.",
  })
  @ApiOkResponse({ type: FundingSourceDto })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS, 'USER_NOT_FOUND', 'FUNDING_SOURCE_NOT_FOUND')
  @ApiParam({ name: 'userId', description: USER_ID_DESCRIPTION, example: 'user_123' })
  @ApiParam({ name: 'fundingSourceId', format: 'uuid', example: '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69' })
  get(
    @Param('userId', USER_ID_PIPE) userId: string,
    @Param('fundingSourceId', FUNDING_SOURCE_ID_PIPE) fundingSourceId: string,
  ): Promise<FundingSourceDto> {
    return this.fundingSources.get(userId, fundingSourceId);
  }
}
