// The global guard: every route needs a valid bearer token and an @Access rule it satisfies, unless @Public.
import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/app-error';
import { ACCESS_RULE, type AccessRule, PUBLIC_ROUTE } from './access.decorator';
import { InvalidTokenError, TokenVerifier } from './token-verifier';
import { Principal } from './principal';

export type AuthenticatedRequest = FastifyRequest & { principal?: Principal };

@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenVerifier,
  ) {}

  // A route's decorators do not change once the app is built: read once per handler, not per request.
  private readonly rules = new WeakMap<object, { isPublic: boolean; rule: AccessRule | undefined }>();

  private routeRule(context: ExecutionContext): { isPublic: boolean; rule: AccessRule | undefined } {
    const handler = context.getHandler();
    let known = this.rules.get(handler);
    if (known === undefined) {
      const targets = [handler, context.getClass()];
      known = {
        isPublic: this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets) === true,
        rule: this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, targets),
      };
      this.rules.set(handler, known);
    }
    return known;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const { isPublic, rule } = this.routeRule(context);
    if (isPublic) return true;

    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const principal = await this.authenticate(request.headers.authorization);
    request.principal = principal;

    // A route without a rule is closed to everyone but admins: forgetting @Access never opens a route.
    if (principal.isAdmin) return true;
    const userId = (request.params as Record<string, string | undefined>).userId;
    const allowed =
      rule !== undefined &&
      ((rule.self === true && principal.isUser(userId)) ||
        (rule.scope !== undefined && principal.hasScope(rule.scope)));
    if (!allowed) throw new AppError('FORBIDDEN', 'This token may not act on this resource.');
    return true;
  }

  private async authenticate(header: string | undefined): Promise<Principal> {
    const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
    if (!match?.[1]) throw new AppError('UNAUTHENTICATED', 'A bearer token is required.');
    try {
      return Principal.fromClaims(await this.tokens.verify(match[1]));
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        throw new AppError('UNAUTHENTICATED', 'The bearer token is invalid or expired.');
      }
      throw err;
    }
  }
}
