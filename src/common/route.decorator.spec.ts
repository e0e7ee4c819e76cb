import { GUARDS_METADATA } from '@nestjs/common/constants';
import { ACCESS_RULE, type AccessRule } from '../auth/access.decorator';
import { CallerRateLimitGuard } from '../rate-limit/caller-rate-limit.guard';
import { WriteRateLimitGuard } from '../rate-limit/write-rate-limit.guard';
import { Route, whoMayCall } from './route.decorator';

// The keys @nestjs/swagger stores an operation and its responses under.
const API_OPERATION = 'swagger/apiOperation';
const API_RESPONSE = 'swagger/apiResponse';

describe('whoMayCall', () => {
  it.each<[AccessRule, string]>([
    [{}, 'Admins only.'],
    [{ self: false }, 'Admins only.'],
    [{ self: true }, 'The user itself or admins.'],
    [{ scope: 'users:write' }, 'Admins or scope `users:write`.'],
    [{ self: true, scope: 'users:write' }, 'The user itself, admins, or scope `users:write`.'],
    [
      { self: true, scope: 'funding-sources:read' },
      'The user itself, admins, or scope `funding-sources:read`.',
    ],
  ])('%j → %s', (rule, sentence) => {
    expect(whoMayCall(rule)).toBe(sentence);
  });
});

class Dto {}

class Routes {
  @Route({
    operationId: 'write',
    summary: 'A write',
    description: 'Does a thing.',
    access: { self: true },
    writeRateLimited: true,
    body: { type: Dto },
    responses: [{ status: 201, type: Dto }],
    errors: ['USER_NOT_FOUND'],
  })
  write(): void {}

  @Route({ operationId: 'read', summary: 'A read', access: {}, responses: [{ status: 200, type: Dto }] })
  read(): void {}
}

const meta = (key: string, handler: keyof Routes): unknown =>
  Reflect.getMetadata(key, Routes.prototype[handler]);

describe('Route', () => {
  it('sets the access rule the guard reads, and appends its sentence to the description', () => {
    expect(meta(ACCESS_RULE, 'write')).toEqual({ self: true });
    expect(meta(API_OPERATION, 'write')).toMatchObject({
      operationId: 'write',
      description: 'Does a thing. The user itself or admins.',
    });
    expect(meta(ACCESS_RULE, 'read')).toEqual({});
    expect(meta(API_OPERATION, 'read')).toMatchObject({ description: 'Admins only.' });
  });

  it("applies the caller's budget to every route, the write rate limit only when asked", () => {
    expect(meta(GUARDS_METADATA, 'write')).toEqual([CallerRateLimitGuard, WriteRateLimitGuard]);
    expect(meta(GUARDS_METADATA, 'read')).toEqual([CallerRateLimitGuard]);
  });

  it("documents the route's errors with those every route, a body and the rate limit bring", () => {
    const statuses = (handler: keyof Routes): string[] =>
      Object.keys(meta(API_RESPONSE, handler) as object).sort();
    // 400 validation and body, 401, 403, 404, 413, 415, 429 rate limit, 503 database.
    expect(statuses('write')).toEqual(['201', '400', '401', '403', '404', '413', '415', '429', '503']);
    expect(statuses('read')).toEqual(['200', '400', '401', '403', '429', '503']);
  });
});
