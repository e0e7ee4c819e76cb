import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { IsUserId, USER_ID_EXAMPLE } from '../../users/dto/user-id.param';
import { STATUS_FILTERS, type StatusFilter } from './list-funding-sources.query';
import { PageQuery } from './page.query';

export class AdminListQuery extends PageQuery {
  @ApiPropertyOptional({ description: "Only this user's funding sources", example: USER_ID_EXAMPLE })
  @IsOptional()
  @IsUserId()
  userId?: string;

  @ApiPropertyOptional({
    description:
      'Institution name contains this text as written, ignoring case (`%`, `_` and `\\` are not wildcards)',
    example: 'chase',
  })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  institution?: string;

  @ApiPropertyOptional({ enum: STATUS_FILTERS, default: 'all', description: 'Without it: every status' })
  @IsOptional()
  @IsIn(STATUS_FILTERS)
  status?: StatusFilter;
}
