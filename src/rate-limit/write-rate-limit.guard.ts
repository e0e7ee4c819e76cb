import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../common/app-error';
import { USER_ID_PIPE } from '../users/dto/user-id.param';
import type { HttpConfig } from '../config/app-config';
import { HTTP_CONFIG } from '../config/config.module';
import { RateLimitRepository } from './rate-limit.repository';

/**
 * Limits a user's writes (per the path's userId) to WRITE_RATE_LIMIT_PER_MINUTE, counted in PostgreSQL
 * so that every instance shares the count. Runs after authentication, so strangers spend nobody's budget.
 */
@Injectable()
export class WriteRateLimitGuard implements CanActivate {
  constructor(
    private readonly counters: RateLimitRepository,
    @Inject(HTTP_CONFIG) private readonly config: HttpConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const userId = (http.getRequest<FastifyRequest>().params as { userId?: string }).userId;
    if (userId === undefined) return true;
    // Guards run before pipes: the path's userId is checked here, by the same pipe as the read routes',
    // before it is written anywhere.
    USER_ID_PIPE.transform(userId);
    const { count, secondsLeft } = await this.counters.hit(`writes:${userId}`);
    if (count <= this.config.writeRateLimitPerMinute) return true;
    void http.getResponse<FastifyReply>().header('retry-after', String(secondsLeft));
    throw new AppError(
      'RATE_LIMITED',
      `Too many writes for this user: at most ${this.config.writeRateLimitPerMinute} a minute. Retry in ${secondsLeft} s.`,
    );
  }
}
