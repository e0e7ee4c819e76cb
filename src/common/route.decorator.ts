// One decorator per route: its operation, who may call it, its write rate limit, its errors and its
// answers, so that a controller reads as a table of routes and each fact is stated once.
import { applyDecorators, type Type, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  type ApiBodyOptions,
  ApiHeader,
  type ApiHeaderOptions,
  ApiOperation,
  ApiParam,
  type ApiParamOptions,
  ApiQuery,
  type ApiQueryOptions,
  ApiResponse,
} from '@nestjs/swagger';
import { Access, type AccessRule } from '../auth/access.decorator';
import { CallerRateLimitGuard } from '../rate-limit/caller-rate-limit.guard';
import { WriteRateLimitGuard } from '../rate-limit/write-rate-limit.guard';
import { ApiErrors, AUTHENTICATED_ROUTE_ERRORS, BODY_ERRORS } from './api-errors.decorator';
import type { ErrorCode } from './error-codes';

/** A success answer. `description` says what it means when a route has more than one. */
export interface RouteResponse {
  status: 200 | 201;
  type: Type<unknown>;
  description?: string;
}

export interface RouteOptions {
  operationId: string;
  summary: string;
  /** What the route does. The sentence saying who may call it is added from `access`. */
  description?: string;
  /** Who may call it besides admins; `{}` is admins only. */
  access: AccessRule;
  /** Counts against the path user's WRITE_RATE_LIMIT_PER_MINUTE (and may answer RATE_LIMITED). */
  writeRateLimited?: boolean;
  /**
   * The route's own error codes. Every route also answers AUTHENTICATED_ROUTE_ERRORS, a route with a
   * `body` BODY_ERRORS, and RATE_LIMITED (every caller has a budget): those are added here.
   */
  errors?: readonly ErrorCode[];
  responses: readonly RouteResponse[];
  body?: ApiBodyOptions;
  params?: readonly ApiParamOptions[];
  query?: readonly ApiQueryOptions[];
  headers?: readonly ApiHeaderOptions[];
}

/** The "who may call" sentence of a route's documentation, worded from its rule as the guard reads it. */
export function whoMayCall(rule: AccessRule): string {
  const scope = rule.scope === undefined ? undefined : `scope \`${rule.scope}\``;
  if (rule.self === true && scope !== undefined) return `The user itself, admins, or ${scope}.`;
  if (rule.self === true) return 'The user itself or admins.';
  if (scope !== undefined) return `Admins or ${scope}.`;
  return 'Admins only.';
}

export function Route(options: RouteOptions): MethodDecorator {
  const { access, description } = options;
  const errors: ErrorCode[] = [
    ...AUTHENTICATED_ROUTE_ERRORS,
    ...(options.body ? BODY_ERRORS : []),
    ...(options.errors ?? []).filter((code) => code !== 'RATE_LIMITED'),
    // Every route counts against its caller's budget (CallerRateLimitGuard), a write also against the
    // path user's.
    'RATE_LIMITED',
  ];
  return applyDecorators(
    UseGuards(CallerRateLimitGuard, ...(options.writeRateLimited ? [WriteRateLimitGuard] : [])),
    Access(access),
    ApiOperation({
      operationId: options.operationId,
      summary: options.summary,
      description: description ? `${description} ${whoMayCall(access)}` : whoMayCall(access),
    }),
    ...(options.headers ?? []).map((header) => ApiHeader(header)),
    ...(options.body ? [ApiBody(options.body)] : []),
    ...options.responses.map((response) => ApiResponse(response)),
    ApiErrors(...errors),
    ...(options.params ?? []).map((param) => ApiParam(param)),
    ...(options.query ?? []).map((query) => ApiQuery(query)),
  );
}
