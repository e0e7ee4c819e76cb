import {
  Body,
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  Post,
  Query,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../auth/caller';
import { CurrentPrincipal } from '../auth/current-principal.decorator';
import { BLUUM_ERRORS } from '../common/api-errors.decorator';
import { JSON_CONTENT_TYPE, type JsonText } from '../common/json-text';
import { QueryPipe } from '../common/param-pipes';
import { Route } from '../common/route.decorator';
import { IdempotencyInterceptor } from '../idempotency/idempotency.interceptor';
import { USER_ID_PARAM, USER_ID_PIPE, UserIdParam } from '../users/dto/user-id.param';
import { ConnectDto } from './dto/connect.dto';
import { ConnectResponseDto } from './dto/connect-response.dto';
import { CreateLinkTokenDto } from './dto/create-link-token.dto';
import { FundingSourceDto, FundingSourceListDto } from './dto/funding-source.dto';
import {
  FUNDING_SOURCE_ID_PIPE,
  FUNDING_SOURCE_ID_SCHEMA,
  FundingSourceParams,
} from './dto/funding-source.params';
import { LinkTokenDto } from './dto/link-token.dto';
import { STATUS_FILTERS, type StatusFilter } from './dto/list-funding-sources.query';
import { SyncResultDto } from './dto/sync-result.dto';
import { ConnectService } from './connect.service';
import { FundingSourcesService } from './funding-sources.service';

// The read routes (list, get) validate with plain pipes instead of DTO classes: see common/param-pipes.ts.
const LIST_QUERY_PIPE = new QueryPipe<'status', StatusFilter>({ status: STATUS_FILTERS });

const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Makes a retry safe: the first response is kept 24 hours and replayed (header `Idempotent-Replayed: true`) for the same key and body; the same key with another body is a 422, and while the first request still runs a 409. Scoped to the caller.',
};

@ApiTags('funding-sources')
@ApiBearerAuth()
@Controller('v1/users/:userId/funding-sources')
export class FundingSourcesController {
  constructor(
    private readonly fundingSources: FundingSourcesService,
    private readonly connects: ConnectService,
  ) {}

  @Post('plaid/link-token')
  @HttpCode(201)
  @Route({
    operationId: 'createPlaidLinkToken',
    summary: 'Get a Plaid Link token',
    description:
      "Step 1 of bank linking: asks Bluum for a Plaid `link_token` for the user's Bluum account. Open Plaid Link with `linkToken`, or redirect to `hostedLinkUrl` when `enableHostedLink` is true.",
    access: { self: true },
    writeRateLimited: true,
    body: { type: CreateLinkTokenDto, required: false },
    responses: [{ status: 201, type: LinkTokenDto }],
    errors: ['USER_NOT_FOUND', ...BLUUM_ERRORS],
  })
  createLinkToken(
    @Param() { userId }: UserIdParam,
    @Body() body: CreateLinkTokenDto,
    @CurrentPrincipal() caller: Caller,
  ): Promise<LinkTokenDto> {
    return this.fundingSources.createLinkToken(userId, body, caller);
  }

  @Post('plaid/connect')
  @HttpCode(201)
  @UseInterceptors(IdempotencyInterceptor)
  @Route({
    operationId: 'connectPlaidItem',
    summary: 'Exchange a Plaid public token and store the linked bank',
    description:
      "Step 2 of bank linking: sends Plaid Link's `public_token` to Bluum and stores the item with every bank account in it, one funding source per account. Nothing is stored unless Bluum accepted the token. The same public token sent again (Plaid Link's onSuccess can fire twice) returns the stored response with 200 and does not call Bluum again. With `metadata` from Plaid Link's onSuccess, a bank the user already has linked and active (same institution, same set of account masks and names) is refused with 409 `DUPLICATE_ITEM`, whose body lists the existing funding sources under `fundingSources`; the public token is not exchanged. A bank in `error` or `disconnected` may be linked again (that is how it is repaired). Without `metadata`, a duplicate is stored and its `linked` audit events carry `duplicateOfItemId`.",
    access: { self: true },
    writeRateLimited: true,
    headers: [IDEMPOTENCY_KEY_HEADER],
    body: { type: ConnectDto },
    responses: [
      { status: 201, type: ConnectResponseDto, description: 'Linked and stored' },
      {
        status: 200,
        type: ConnectResponseDto,
        description: 'This public token was already exchanged: the stored response, Bluum not called again',
      },
    ],
    errors: [
      'USER_NOT_FOUND',
      'BLUUM_ACCOUNT_CONFLICT',
      'ITEM_LINKED_TO_ANOTHER_USER',
      'DUPLICATE_ITEM',
      'CONNECT_IN_PROGRESS',
      'IDEMPOTENCY_KEY_IN_FLIGHT',
      'IDEMPOTENCY_KEY_REUSED',
      'PUBLIC_TOKEN_REJECTED',
      ...BLUUM_ERRORS,
    ],
  })
  async connect(
    @Param() { userId }: UserIdParam,
    @Body() body: ConnectDto,
    @CurrentPrincipal() caller: Caller,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConnectResponseDto> {
    const { response, replayed } = await this.connects.connect(
      userId,
      body.publicToken,
      caller,
      body.metadata,
    );
    void reply.status(replayed ? 200 : 201);
    return response;
  }

  @Post('sync')
  @HttpCode(200)
  @Route({
    operationId: 'syncFundingSources',
    summary: "Bring the stored funding sources in line with Bluum's",
    description:
      "Reads Bluum's list of the user's items and adds what a lost connect reply left out, takes Bluum's details and statuses (`ERROR` → `error`, `DISCONNECTED` → `disconnected`), and never duplicates. Use it after a connect that answered 502 or 504.",
    access: { self: true },
    writeRateLimited: true,
    responses: [{ status: 200, type: SyncResultDto }],
    errors: ['USER_NOT_FOUND', 'BLUUM_ACCOUNT_CONFLICT', ...BLUUM_ERRORS],
  })
  sync(@Param() { userId }: UserIdParam, @CurrentPrincipal() caller: Caller): Promise<SyncResultDto> {
    return this.fundingSources.sync(userId, caller);
  }

  @Delete(':fundingSourceId')
  @Route({
    operationId: 'disconnectFundingSource',
    summary: 'Disconnect a funding source',
    description:
      'Marks the bank account `disconnected` (soft delete: it stays visible under `?status=disconnected|all`, and deposit services can tell from `status` that it may no longer be used). When it is the last active account of its item, the item is disconnected at Bluum first (with `BLUUM_API_VERSION=investors`, where Bluum holds each bank account as a funding source of its own, every account is disconnected at Bluum first, by its `fs_` id, and Bluum revokes the item with the last); if Bluum fails, nothing changes. Disconnecting twice is harmless, and so is repeating one that failed (a timeout included). A disconnect sent while another is in progress at Bluum for the same bank waits for it and answers its result, or 409 `DISCONNECT_IN_PROGRESS` if it outlasts the Bluum budget.',
    access: { self: true },
    writeRateLimited: true,
    responses: [{ status: 200, type: FundingSourceDto }],
    errors: ['USER_NOT_FOUND', 'FUNDING_SOURCE_NOT_FOUND', 'DISCONNECT_IN_PROGRESS', ...BLUUM_ERRORS],
  })
  disconnect(
    @Param() { userId, fundingSourceId }: FundingSourceParams,
    @CurrentPrincipal() caller: Caller,
  ): Promise<FundingSourceDto> {
    return this.fundingSources.disconnect(userId, fundingSourceId, caller);
  }

  @Get()
  @Route({
    operationId: 'listFundingSources',
    summary: "List a user's funding sources",
    description:
      'Newest first. Without `status`, every funding source that is not disconnected. Deposit services merge `transferOptions` into their request to Bluum (`plaid_options`, or `funding_source_id` with BLUUM_API_VERSION=investors).',
    access: { self: true, scope: 'funding-sources:read' },
    params: [USER_ID_PARAM],
    query: [
      {
        name: 'status',
        required: false,
        enum: STATUS_FILTERS,
        description: 'Without it: every funding source that is not disconnected',
      },
    ],
    responses: [{ status: 200, type: FundingSourceListDto }],
    errors: ['USER_NOT_FOUND'],
  })
  @Header('Content-Type', JSON_CONTENT_TYPE)
  list(
    @Param('userId', USER_ID_PIPE) userId: string,
    @Query(LIST_QUERY_PIPE) query: { status?: StatusFilter },
  ): Promise<JsonText<FundingSourceListDto>> {
    return this.fundingSources.list(userId, query.status);
  }

  @Get(':fundingSourceId')
  @Route({
    operationId: 'getFundingSource',
    summary: 'Get one funding source',
    description: "404 for an id that is not this user's.",
    access: { self: true, scope: 'funding-sources:read' },
    params: [USER_ID_PARAM, { name: 'fundingSourceId', ...FUNDING_SOURCE_ID_SCHEMA }],
    responses: [{ status: 200, type: FundingSourceDto }],
    errors: ['USER_NOT_FOUND', 'FUNDING_SOURCE_NOT_FOUND'],
  })
  @Header('Content-Type', JSON_CONTENT_TYPE)
  get(
    @Param('userId', USER_ID_PIPE) userId: string,
    @Param('fundingSourceId', FUNDING_SOURCE_ID_PIPE) fundingSourceId: string,
  ): Promise<JsonText<FundingSourceDto>> {
    return this.fundingSources.get(userId, fundingSourceId);
  }
}
