// The Idempotency-Key header's shape, checked before the key is stored or the handler runs (the key's
// states, replays and conflicts are test/medium/idempotency-and-rate-limit.medium-spec.ts and e2e).
import type { CallHandler, ExecutionContext } from '@nestjs/common';
import { firstValueFrom, of } from 'rxjs';
import { AppError } from '../common/app-error';
import { loadConfig } from '../config/app-config';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import type { IdempotencyRepository } from './idempotency.repository';

function run(key: string | string[]) {
  const calls: string[] = [];
  // Strict: any use of the store fails the test, since a malformed key must never reach it.
  const keys = new Proxy({} as IdempotencyRepository, {
    get: (_target, name) => () => {
      throw new Error(`unexpected IdempotencyRepository.${String(name)}`);
    },
  });
  const sut = new IdempotencyInterceptor(keys, loadConfig({ NODE_ENV: 'test' }));
  const request = {
    method: 'POST',
    url: '/v1/users/u1/funding-sources/plaid/connect',
    headers: { 'idempotency-key': key },
    principal: { subject: 'u1' },
    body: {},
  };
  const context = {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => ({}) }),
  } as unknown as ExecutionContext;
  const next: CallHandler = {
    handle: () => {
      calls.push('handler');
      return of('done');
    },
  };
  return { result: firstValueFrom(sut.intercept(context, next)), calls };
}

describe('IdempotencyInterceptor: the key', () => {
  it.each<[string, string | string[]]>([
    ['too long', 'k'.repeat(256)],
    ['with a space', 'my key'],
    ['empty', ''],
    ['not ASCII', 'clé'],
    ['with a control character', 'key\t1'],
    ['sent twice', ['a', 'b']],
  ])('refuses a key that is %s, before the store and the handler', async (_name, key) => {
    const { result, calls } = run(key);
    const error = await result.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      details: [
        { field: 'Idempotency-Key', message: 'Idempotency-Key must be 1-255 visible ASCII characters' },
      ],
    });
    expect(calls).toEqual([]);
  });
});
