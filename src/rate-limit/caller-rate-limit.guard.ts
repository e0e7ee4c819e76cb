import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { AppError } from '../common/app-error';
import { CallerRateLimit } from './caller-rate-limit';

/**
 * Every @Route's caller against its per-minute budget (REQUEST_RATE_LIMIT_PER_MINUTE, or
 * SERVICE_REQUEST_RATE_LIMIT_PER_MINUTE for services and admins). A route guard, so it runs after the
 * global AuthGuard: strangers spend nobody's budget, and the caller is the verified principal.
 */
@Injectable()
export class CallerRateLimitGuard implements CanActivate {
  constructor(private readonly limit: CallerRateLimit) {}

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const principal = http.getRequest<AuthenticatedRequest>().principal;
    if (principal === undefined) return true;
    const verdict = this.limit.hit(principal);
    if (verdict.allowed) return true;
    void http.getResponse<FastifyReply>().header('retry-after', String(verdict.retryAfterSeconds));
    throw new AppError(
      'RATE_LIMITED',
      `Too many requests from this caller: at most ${verdict.limit} a minute. Retry in ${verdict.retryAfterSeconds} s.`,
    );
  }
}
