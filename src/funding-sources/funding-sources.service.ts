import { Injectable } from '@nestjs/common';
import { BluumGateway } from '../bluum/bluum.gateway';
import { AppError } from '../common/app-error';
import { UsersService } from '../users/users.service';
import type { ConnectResponseDto } from './dto/connect-response.dto';
import type { CreateLinkTokenDto } from './dto/create-link-token.dto';
import {
  FUNDING_SOURCE_STATUSES,
  type FundingSourceDto,
  type FundingSourceStatus,
} from './dto/funding-source.dto';
import type { LinkTokenDto } from './dto/link-token.dto';
import type { StatusFilter } from './dto/list-funding-sources.query';
import type { FundingSourceRecord } from './funding-source.record';
import { FundingSourcesRepository } from './funding-sources.repository';

const DEFAULT_STATUSES: readonly FundingSourceStatus[] = ['active', 'error'];

@Injectable()
export class FundingSourcesService {
  constructor(
    private readonly users: UsersService,
    private readonly repository: FundingSourcesRepository,
    private readonly bluum: BluumGateway,
  ) {}

  async createLinkToken(userId: string, request: CreateLinkTokenDto): Promise<LinkTokenDto> {
    const user = await this.users.require(userId);
    const { linkToken, hostedLinkUrl } = await this.bluum.createLinkToken(user.bluumAccountId, {
      enableHostedLink: request.enableHostedLink ?? false,
    });
    return { linkToken, hostedLinkUrl };
  }

  /** Exchanges the public token at Bluum, then stores the item; nothing is stored if Bluum fails. */
  async connect(userId: string, publicToken: string): Promise<ConnectResponseDto> {
    const user = await this.users.require(userId);
    const bluumItem = await this.bluum.exchangePublicToken(user.bluumAccountId, publicToken);
    const { item, fundingSources } = await this.repository.saveLinkedItem(
      userId,
      user.bluumAccountId,
      bluumItem,
    );
    return { item, fundingSources: fundingSources.map((source) => this.map(source)) };
  }

  async list(userId: string, status: StatusFilter | undefined): Promise<FundingSourceDto[]> {
    const statuses =
      status === undefined ? DEFAULT_STATUSES : status === 'all' ? FUNDING_SOURCE_STATUSES : [status];
    const sources = await this.repository.listByUser(userId, statuses);
    // Only an empty answer needs the second look: is the user unknown, or does it have nothing linked?
    if (sources.length === 0) await this.users.require(userId);
    return sources.map((source) => this.map(source));
  }

  async get(userId: string, fundingSourceId: string): Promise<FundingSourceDto> {
    const source = await this.repository.findForUser(userId, fundingSourceId);
    if (!source) {
      await this.users.require(userId);
      throw new AppError(
        'FUNDING_SOURCE_NOT_FOUND',
        `User ${userId} has no funding source ${fundingSourceId}.`,
      );
    }
    return this.map(source);
  }

  private map(source: FundingSourceRecord): FundingSourceDto {
    return {
      id: source.id,
      userId: source.userId,
      status: source.status,
      institutionId: source.institutionId,
      institutionName: source.institutionName,
      accountName: source.accountName,
      accountType: source.accountType,
      accountSubtype: source.accountSubtype,
      mask: source.mask,
      itemId: source.itemId,
      accountId: source.accountId,
      bluumFundingSourceId: source.bluumFundingSourceId,
      plaidOptions: { item_id: source.itemId, account_id: source.accountId },
      createdAt: source.createdAt.toISOString(),
      updatedAt: source.updatedAt.toISOString(),
    };
  }
}
