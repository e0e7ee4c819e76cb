import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { clientRequestIdOf } from '../logging/request-context';
import type { AuthenticatedRequest } from './auth.guard';
import type { Caller } from './caller';

/** The caller of a request the auth guard has let through, with the request's ids. */
export function callerOf(request: Pick<AuthenticatedRequest, 'principal' | 'id' | 'headers'>): Caller {
  // Only a route marked @Public has no principal, and such a route has no caller to record.
  if (!request.principal) throw new AppError('UNAUTHENTICATED', 'A bearer token is required.');
  return {
    actor: request.principal.toActor(),
    requestId: request.id,
    clientRequestId: clientRequestIdOf(request.headers) ?? null,
  };
}

/** The authenticated caller of this request, for the audit trail of the changes it makes. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Caller =>
  callerOf(context.switchToHttp().getRequest<AuthenticatedRequest>()),
);
