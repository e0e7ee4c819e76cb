// Development only (the sandbox module): the demo page at `/` and the endpoint that gives it a user and
// that user's bearer token, so a person can walk the whole flow without an identity provider.
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/access.decorator';
import { signHs256 } from '../auth/jwt';
import { AppError } from '../common/app-error';
import type { AuthConfig, BluumConfig } from '../config/app-config';
import { AUTH_CONFIG, BLUUM_CONFIG } from '../config/config.module';
import { demoBluumAccount, isDemoBluumAccount } from '../users/demo-account';
import { UsersService } from '../users/users.service';
import { type DemoSession, DemoUserDto } from './dto/demo-user.dto';
import { type PageFile, SandboxPages } from './sandbox-pages';

const TOKEN_LIFETIME_SECONDS = 60 * 60;
// Scripts and styles only: the pages themselves have their own routes.
const ASSETS: readonly PageFile[] = ['demo.js', 'link.js', 'sandbox.css'];

@ApiExcludeController()
@Public()
@Controller()
export class DemoController {
  constructor(
    private readonly pages: SandboxPages,
    private readonly users: UsersService,
    @Inject(AUTH_CONFIG) private readonly auth: AuthConfig,
    @Inject(BLUUM_CONFIG) private readonly bluum: BluumConfig,
  ) {}

  @Get()
  page(@Res() reply: FastifyReply): FastifyReply {
    return this.pages.send(reply, 'demo.html');
  }

  @Get('sandbox/assets/:name')
  asset(@Param('name') name: string, @Res() reply: FastifyReply): FastifyReply {
    const asset = ASSETS.find((candidate) => candidate === name);
    if (!asset) throw new AppError('ROUTE_NOT_FOUND', 'No such route.');
    return this.pages.send(reply, asset);
  }

  /**
   * Registers the demo user (under a sandbox Bluum account derived from its id, an `inv_…` one when the
   * service speaks Bluum's investors generation) unless it exists, and
   * signs it a one-hour token with no role and no scope: it may act on its own funding sources only.
   *
   * Only for users the sandbox registered itself: an existing user whose Bluum account is not the one the
   * sandbox derives for that id (a real user such as `alice`, registered through PUT /v1/users) gets 403
   * and no token. The derived account is an HMAC under the token-signing secret, so nobody who could not
   * already sign a token can register a user that the sandbox takes for its own.
   */
  @Post('sandbox/demo-users')
  @HttpCode(201)
  async demoUser(@Body() body: DemoUserDto): Promise<DemoSession> {
    // Only while the sandbox is the Bluum in use and no identity provider is configured: beside a real
    // provider a demo token would carry its iss/aud, and beside a real Bluum it would act on real accounts.
    if (this.bluum.bluumBaseUrl !== null || this.auth.authJwksUrl !== null) {
      throw new AppError('ROUTE_NOT_FOUND', 'No such route.');
    }
    const secret = this.auth.authJwtSecret;
    if (secret === null) {
      throw new AppError(
        'FORBIDDEN',
        'The sandbox signs demo tokens with AUTH_JWT_SECRET, which is not set.',
      );
    }
    const userId = body.userId ?? `demo-${randomBytes(6).toString('hex')}`;
    const derivedAccount = demoBluumAccount(secret, userId, this.bluum.bluumApiVersion);
    const user = await this.users.ensure(userId, derivedAccount);
    if (!sameText(user.bluumAccountId, derivedAccount)) {
      // Registered while the service spoke Bluum's other generation: its account is not an id this one takes.
      if (isDemoBluumAccount(secret, userId, user.bluumAccountId)) {
        throw new AppError(
          'FORBIDDEN',
          `Demo user ${userId} was registered for Bluum's other API generation (BLUUM_API_VERSION), whose account ids this one does not take. Choose another user id.`,
        );
      }
      throw new AppError(
        'FORBIDDEN',
        `The sandbox signs tokens only for demo users it registered itself, and ${userId} is not one. Choose another user id.`,
      );
    }
    const exp = Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_SECONDS;
    return {
      userId: user.id,
      bluumAccountId: user.bluumAccountId,
      // With AUTH_ISSUER / AUTH_AUDIENCE set, HS256 tokens are checked against them too.
      accessToken: signHs256(
        {
          sub: user.id,
          roles: [],
          scope: '',
          exp,
          ...(this.auth.authIssuer !== null ? { iss: this.auth.authIssuer } : {}),
          ...(this.auth.authAudience !== null ? { aud: this.auth.authAudience } : {}),
        },
        secret,
      ),
      tokenType: 'Bearer',
      expiresIn: TOKEN_LIFETIME_SECONDS,
    };
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
