// Bluum's bank-linking API as Bluum documents it (paths, snake_case bodies, envelopes, Basic auth),
// served by this process in development so the gateway makes real HTTP calls without a Bluum account.
// Its replies are Bluum's documented bodies, filled in (the same fixtures the test fault server serves).
import { Body, Controller, Delete, Get, Headers, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/access.decorator';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { basicAuthorization } from '../bluum/bluum-endpoint';
import {
  connectReply,
  deleteReply,
  errorReply,
  linkTokenReply,
  listReply,
  successReply,
  type WireBody,
} from '../bluum/wire-fixtures';
import { BluumSandboxStore, isHttpUrl } from './bluum-sandbox.store';

const TOKEN_ERRORS = {
  invalid: { code: 'BLUM-400-002', message: 'The public token is invalid.' },
  used: { code: 'BLUM-400-003', message: 'The public token has already been exchanged.' },
  expired: { code: 'BLUM-400-004', message: 'The public token has expired.' },
} as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

@ApiExcludeController()
@Public()
@Controller('sandbox/bluum/v1/accounts/:accountId/funding-sources')
export class BluumSandboxController {
  private readonly expectedAuthorization: Buffer;

  constructor(
    private readonly store: BluumSandboxStore,
    @Inject(BLUUM_CONFIG) config: BluumConfig,
  ) {
    this.expectedAuthorization = Buffer.from(basicAuthorization(config.bluumApiKey, config.bluumApiSecret));
  }

  @Post('plaid/link-token')
  linkToken(
    @Headers('authorization') authorization: string | undefined,
    @Req() request: FastifyRequest,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    if (!this.authorized(authorization)) return this.unauthorized(reply);
    if (!isObject(body) || typeof body.enable_hosted_link !== 'boolean') {
      return this.error(reply, 400, 'BLUM-400-001', 'enable_hosted_link must be a boolean.');
    }
    const redirect = body.completion_redirect_uri;
    if (redirect !== undefined && (typeof redirect !== 'string' || !isHttpUrl(redirect))) {
      return this.error(
        reply,
        400,
        'BLUM-400-001',
        'completion_redirect_uri must be an absolute http(s) URL.',
      );
    }
    const linkToken = this.store.issueLinkToken(redirect ?? null);
    // Like Plaid's, the hosted URL carries only the session: the completion URI stays with the token.
    const hosted = new URL('/sandbox/link', `${request.protocol}://${request.host}`);
    hosted.searchParams.set('token', linkToken);
    return this.send(
      reply,
      200,
      linkTokenReply(linkToken, body.enable_hosted_link ? hosted.toString() : null),
    );
  }

  @Post('plaid/connect')
  connect(
    @Headers('authorization') authorization: string | undefined,
    @Param('accountId') accountId: string,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    if (!this.authorized(authorization)) return this.unauthorized(reply);
    if (!isObject(body) || typeof body.public_token !== 'string') {
      return this.error(reply, 400, 'BLUM-400-001', 'public_token is required.');
    }
    const result = this.store.exchange(accountId, body.public_token);
    if (!result.ok) {
      const { code, message } = TOKEN_ERRORS[result.reason];
      return this.error(reply, 400, code, message);
    }
    return this.send(reply, 200, connectReply(result.item));
  }

  @Get()
  list(
    @Headers('authorization') authorization: string | undefined,
    @Param('accountId') accountId: string,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    if (!this.authorized(authorization)) return this.unauthorized(reply);
    return this.send(reply, 200, listReply(this.store.list(accountId)));
  }

  @Get(':id')
  get(
    @Headers('authorization') authorization: string | undefined,
    @Param('accountId') accountId: string,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    if (!this.authorized(authorization)) return this.unauthorized(reply);
    // Bluum documents this route but not its body: the item, in the success envelope.
    const item = this.store.get(accountId, id);
    return item ? this.send(reply, 200, successReply(item)) : this.notFound(reply);
  }

  @Delete(':id')
  disconnect(
    @Headers('authorization') authorization: string | undefined,
    @Param('accountId') accountId: string,
    @Param('id') id: string,
    @Res() reply: FastifyReply,
  ): FastifyReply {
    if (!this.authorized(authorization)) return this.unauthorized(reply);
    // Bluum's internal API's 200; its external one answers 204 with no body, and the gateway takes either.
    const item = this.store.disconnect(accountId, id);
    return item ? this.send(reply, 200, deleteReply()) : this.notFound(reply);
  }

  private authorized(header: string | undefined): boolean {
    const given = Buffer.from(header ?? '');
    return (
      given.length === this.expectedAuthorization.length && timingSafeEqual(given, this.expectedAuthorization)
    );
  }

  private send(reply: FastifyReply, status: number, body: WireBody): FastifyReply {
    return reply.status(status).send(body);
  }

  private error(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
    return this.send(reply, status, errorReply(code, message));
  }

  private unauthorized(reply: FastifyReply): FastifyReply {
    return this.error(reply, 401, 'BLUM-401-001', 'Invalid API credentials.');
  }

  private notFound(reply: FastifyReply): FastifyReply {
    return this.error(reply, 404, 'BLUM-404-001', 'Funding source not found.');
  }
}
