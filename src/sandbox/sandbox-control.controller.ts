// Development only (the sandbox module): changes to the sandbox's Bluum state that Bluum makes on its own
// in real life, so a person can watch the service notice them (a sync, reconciliation, webhooks). The
// demo page calls it with the demo user's own bearer token, which is why it is not behind Bluum's Basic
// auth as the sandbox's Bluum routes are: the browser never holds Bluum's credentials.
import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { AppError } from '../common/app-error';
import { UsersService } from '../users/users.service';
import { BluumStandIn, type StandInItem } from './bluum-stand-in';
import { SandboxItemParams, SetSandboxItemStatusDto } from './dto/item-status.dto';

@ApiExcludeController()
@Controller('sandbox/users/:userId/items')
export class SandboxControlController {
  constructor(
    private readonly standIn: BluumStandIn,
    private readonly users: UsersService,
  ) {}

  /**
   * Sets the status Bluum lists for one of the user's items (found by the `itemId` our API shows):
   * `ERROR` breaks it as a changed bank password does, `DISCONNECTED` revokes it, `ACTIVE` mends it.
   * Only Bluum's side changes: the service learns of it from Bluum's list, as it would in production.
   * The user itself or an admin; 404 for a user or an item the sandbox does not hold.
   */
  @Post(':itemId/status')
  @HttpCode(200)
  @Access({ self: true })
  async setStatus(
    @Param() { userId, itemId }: SandboxItemParams,
    @Body() { status }: SetSandboxItemStatusDto,
  ): Promise<StandInItem> {
    const user = await this.users.require(userId);
    const item = this.standIn.setStatus(user.bluumAccountId, itemId, status);
    if (!item) {
      throw new AppError(
        'FUNDING_SOURCE_NOT_FOUND',
        `The sandbox holds no item ${itemId} for user ${userId}.`,
      );
    }
    return item;
  }
}
