// Bluum's bank-linking API served by this process in development, so the gateway makes real HTTP calls
// without a Bluum account: every call under /sandbox/bluum goes to the Bluum stand-in (the same one the
// e2e specs' fault server and `npm run chaos` serve), with the sandbox's banks and hosted link behind it.
import { All, Controller, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../auth/access.decorator';
import { BluumStandIn } from './bluum-stand-in';

/** Where the sandbox's Bluum is mounted: the gateway's base URL is this with `/v1` (BluumEndpoint). */
export const SANDBOX_BLUUM_PREFIX = '/sandbox/bluum';

@ApiExcludeController()
@Public()
@Controller(SANDBOX_BLUUM_PREFIX)
export class BluumSandboxController {
  constructor(private readonly standIn: BluumStandIn) {}

  @All('*')
  handle(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    const answer = this.standIn.handle({
      method: request.method,
      path: request.url.slice(SANDBOX_BLUUM_PREFIX.length),
      authorization: request.headers.authorization,
      body: request.body,
      origin: `${request.protocol}://${request.host}`,
    });
    return reply.status(answer.status).send(answer.body);
  }
}
