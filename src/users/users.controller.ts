import { Body, Controller, Get, Param, Put, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Access } from '../auth/access.decorator';
import { ApiErrors, AUTHENTICATED_ROUTE_ERRORS, BODY_ERRORS } from '../common/api-errors.decorator';
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
  @Access({ scope: 'users:write' })
  @ApiOperation({
    operationId: 'putUser',
    summary: 'Register a user and its Bluum account',
    description:
      'Creates the user (201) or updates which Bluum account its funding sources live under (200). Admins or scope `users:write`. The Bluum account cannot change once the user has linked a bank (409).',
  })
  @ApiBody({ type: PutUserDto })
  @ApiResponse({ status: 201, type: UserDto, description: 'Created' })
  @ApiOkResponse({ type: UserDto, description: 'Updated (or unchanged)' })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS, ...BODY_ERRORS, 'BLUUM_ACCOUNT_CONFLICT')
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
  @Access({ self: true, scope: 'users:write' })
  @ApiOperation({
    operationId: 'getUser',
    summary: 'Get a user',
    description: 'The user itself, admins, or scope `users:write`.',
  })
  @ApiOkResponse({ type: UserDto })
  @ApiErrors(...AUTHENTICATED_ROUTE_ERRORS, 'USER_NOT_FOUND')
  get(@Param() { userId }: UserIdParam): Promise<UserDto> {
    return this.users.get(userId);
  }
}
