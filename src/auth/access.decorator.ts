import { SetMetadata } from '@nestjs/common';
import type { Scope } from './scopes';

export type { Scope } from './scopes';

/**
 * Who may call a route besides admins (who always may): the user named by the `userId` path
 * parameter (`self`), and/or callers holding `scope`. `@Access({})` means admins only.
 */
export interface AccessRule {
  self?: boolean;
  scope?: Scope;
}

export const ACCESS_RULE = 'access-rule';
export const PUBLIC_ROUTE = 'public-route';

export const Access = (rule: AccessRule): MethodDecorator & ClassDecorator => SetMetadata(ACCESS_RULE, rule);

/** No bearer token needed (health, the development sandbox). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
