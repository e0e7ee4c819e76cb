import { type ArgumentsHost, Catch, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RequestContext } from '../logging/request-context';
import { AppError } from './app-error';
import { retryAfterSeconds, toErrorBody } from './error-envelope';

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const body = toErrorBody(exception, RequestContext.of(request));
    const reply = http.getResponse<FastifyReply>();
    const retryAfter =
      (exception instanceof AppError ? exception.retryAfterSeconds : undefined) ??
      retryAfterSeconds(body.code);
    // A guard may have set its own (RATE_LIMITED knows the seconds left in its window).
    if (retryAfter !== undefined && !reply.hasHeader('retry-after')) {
      void reply.header('retry-after', String(retryAfter));
    }
    void reply.status(body.statusCode).send(body);
  }
}
