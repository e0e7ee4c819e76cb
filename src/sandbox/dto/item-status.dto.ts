import { IsIn, Matches } from 'class-validator';
import { UserIdParam } from '../../users/dto/user-id.param';
import { BLUUM_ITEM_STATUSES, type BluumItemStatus } from '../../bluum/bluum.types';

/** Plaid's item ids are letters and digits; the sandbox's are `item_` and base64url-like letters. */
export const SANDBOX_ITEM_ID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export class SandboxItemParams extends UserIdParam {
  @Matches(SANDBOX_ITEM_ID_PATTERN, {
    message: 'itemId must be 1-128 characters of A-Z a-z 0-9 _ - (the itemId of a funding source)',
  })
  itemId!: string;
}

export class SetSandboxItemStatusDto {
  @IsIn(BLUUM_ITEM_STATUSES)
  status!: BluumItemStatus;
}
