import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Route } from '../common/route.decorator';
import { PutUserDto } from './dto/put-user.dto';
import { UserDto } from './dto/user.dto';
import { UserIdParam } from './dto/user-id.param';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@Controller('v1/users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Put(':userId')
  @Route({
    operationId: 'putUser',
    summary: 'Register a user and its Bluum account',
    description:
      'Creates the user (201) or updates which Bluum account its funding sources live under (200). The Bluum account cannot change once the user has linked a bank (409 `BLUUM_ACCOUNT_CONFLICT`). One Bluum account belongs to one user: an account another user holds is 409 `BLUUM_ACCOUNT_TAKEN`, also when two requests ask for it at once (one of them gets it).',
    access: { scope: 'users:write' },
    body: { type: PutUserDto },
    responses: [
      { status: 201, type: UserDto, description: 'Created' },
      { status: 200, type: UserDto, description: 'Updated (or unchanged)' },
    ],
    errors: ['BLUUM_ACCOUNT_CONFLICT', 'BLUUM_ACCOUNT_TAKEN'],
  })
  async put(
    @Param() { userId }: UserIdParam,
    @Body() body: PutUserDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<UserDto> {
    const { user, created } = await this.users.put(userId, body.bluumAccountId);
    void reply.status(created ? 201 : 200);
    return user;
  }

  @Get(':userId')
  @Route({
    operationId: 'getUser',
    summary: 'Get a user',
    access: { self: true, scope: 'users:write' },
    responses: [{ status: 200, type: UserDto }],
    errors: ['USER_NOT_FOUND'],
  })
  get(@Param() { userId }: UserIdParam): Promise<UserDto> {
    return this.users.get(userId);
  }
}
