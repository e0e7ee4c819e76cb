// The sandbox's stand-in for Plaid's hosted Link: the page a hosted_link_url opens, and the small JSON API
// behind it. The person picks a bank, logs in with Plaid Sandbox's user_good / pass_good, and is sent back
// to the completion URI bound to the link token, with the public token in the URL fragment (a fragment
// never reaches a server's logs). Errors use Plaid's shape ({ error_code, error_message }).
import { Body, Controller, Get, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access.decorator';
import { BluumSandboxStore, type LinkSessionResult, SANDBOX_INSTITUTIONS } from './bluum-sandbox.store';
import { isHttpUrl } from './bluum-stand-in';
import { SandboxPages } from './sandbox-pages';

const ERRORS = {
  invalid_request: 'The request is missing a field or has one of the wrong type.',
  invalid_link_token: 'This link has expired or was already used. Go back and start again.',
  invalid_institution: 'This institution is not available in the sandbox.',
  invalid_credentials: 'The credentials were not correct. Check your username and password and try again.',
} as const;
type ErrorReason = keyof typeof ERRORS;

/** The string fields of a JSON body, or null when one is missing, not a string, or too long. */
function strings<K extends string>(body: unknown, keys: readonly K[]): Record<K, string> | null {
  if (typeof body !== 'object' || body === null) return null;
  const values = body as Record<string, unknown>;
  const ok = keys.every((key) => typeof values[key] === 'string' && values[key].length <= 256);
  return ok ? (values as Record<K, string>) : null;
}

/**
 * Where the browser goes when Link ends: the completion URI with the outcome in its fragment. Only ever an
 * http(s) URL: the link-token route refuses any other, and this checks again before sending anyone there.
 */
function redirectTo(completionRedirectUri: string | null, outcome: Record<string, string>): string | null {
  if (completionRedirectUri === null || !isHttpUrl(completionRedirectUri)) return null;
  const target = new URL(completionRedirectUri);
  target.hash = new URLSearchParams(outcome).toString();
  return target.toString();
}

@ApiExcludeController()
@Public()
@Controller('sandbox/link')
export class HostedLinkController {
  constructor(
    private readonly store: BluumSandboxStore,
    private readonly pages: SandboxPages,
  ) {}

  @Get()
  page(@Res() reply: FastifyReply): FastifyReply {
    return this.pages.send(reply, 'link.html');
  }

  /** Opens the session: the institutions to pick from, or an error for a bad or spent link token. */
  @Post('session')
  session(@Body() body: unknown, @Res() reply: FastifyReply): FastifyReply {
    const fields = strings(body, ['link_token']);
    if (!fields) return this.fail(reply, 'invalid_request');
    const session = this.store.openSession(fields.link_token);
    if (!session.ok) return this.fail(reply, session.reason);
    return reply.status(200).send({
      institutions: SANDBOX_INSTITUTIONS.map(({ id, name }) => ({ institution_id: id, name })),
      has_completion_redirect: session.completionRedirectUri !== null,
    });
  }

  @Post('complete')
  complete(@Body() body: unknown, @Res() reply: FastifyReply): FastifyReply {
    const fields = strings(body, ['link_token', 'institution_id', 'username', 'password']);
    if (!fields) return this.fail(reply, 'invalid_request');
    const result = this.store.completeSession(
      fields.link_token,
      fields.institution_id,
      fields.username,
      fields.password,
    );
    if (!result.ok) return this.fail(reply, result.reason);
    const publicToken = result.publicToken as string;
    return reply.status(200).send({
      public_token: publicToken,
      redirect_to: redirectTo(result.completionRedirectUri, { status: 'success', public_token: publicToken }),
    });
  }

  /** The person chose Cancel: the session ends and the browser goes back with `status=exited`. */
  @Post('exit')
  exit(@Body() body: unknown, @Res() reply: FastifyReply): FastifyReply {
    const fields = strings(body, ['link_token']);
    if (!fields) return this.fail(reply, 'invalid_request');
    const result: LinkSessionResult = this.store.exitSession(fields.link_token);
    if (!result.ok) return this.fail(reply, result.reason);
    return reply
      .status(200)
      .send({ redirect_to: redirectTo(result.completionRedirectUri, { status: 'exited' }) });
  }

  private fail(reply: FastifyReply, reason: ErrorReason): FastifyReply {
    return reply.status(400).send({ error_code: reason.toUpperCase(), error_message: ERRORS[reason] });
  }
}
