import {
  FUNDING_SOURCE_ID_MESSAGE,
  FUNDING_SOURCE_ID_PIPE,
} from '../funding-sources/dto/funding-source.params';
import { STATUS_FILTERS } from '../funding-sources/dto/list-funding-sources.query';
import { USER_ID_MESSAGE, USER_ID_PIPE, UserIdParam } from '../users/dto/user-id.param';
import { AppError } from './app-error';
import { validationPipe } from './validation-pipe';
import { QueryPipe } from './param-pipes';

function failure(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a validation failure');
}

describe('PatternPipe', () => {
  const pipe = FUNDING_SOURCE_ID_PIPE;

  it('passes a matching value through', () => {
    expect(pipe.transform('6F1C2A1E-8d0b-4c47-9b0e-3e1d2c4b5a69')).toBe(
      '6F1C2A1E-8d0b-4c47-9b0e-3e1d2c4b5a69',
    );
  });

  it.each([['1 OR 1=1'], ['6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69x'], [''], [undefined], [['a']]])(
    'refuses %p as VALIDATION_FAILED naming the field',
    (value) => {
      const error = failure(() => pipe.transform(value));
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.details).toEqual([{ field: 'fundingSourceId', message: FUNDING_SOURCE_ID_MESSAGE }]);
    },
  );
});

describe('QueryPipe', () => {
  const pipe = new QueryPipe<'status', 'active' | 'all'>({ status: ['active', 'all'] });

  it('returns the allowed parameters, and nothing for an empty query', () => {
    expect(pipe.transform({ status: 'all' })).toEqual({ status: 'all' });
    expect(pipe.transform({})).toEqual({});
    expect(pipe.transform(undefined)).toEqual({});
  });

  it('refuses unknown parameters, values outside the list and repeated parameters, all at once', () => {
    const error = failure(() => pipe.transform({ status: ['active', 'all'], limit: '5' }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details).toEqual([
      { field: 'status', message: 'status must be one of the following values: active, all' },
      { field: 'limit', message: 'property limit should not exist' },
    ]);
  });

  it('does not take inherited names as allowed parameters', () => {
    const error = failure(() => pipe.transform({ constructor: 'x', toString: 'y' }));
    expect(error.details?.map((detail) => detail.field)).toEqual(['constructor', 'toString']);
  });
});

// Every route's userId: the read routes check it with USER_ID_PIPE, the write routes with the UserIdParam
// DTO; both must refuse the same ids (over HTTP, each route refuses them in its controller's spec).
describe('the userId of a path', () => {
  const refused: [string, string][] = [
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'a b'],
    ['unicode', 'usér'],
    ['a NUL byte', 'a\u0000b'],
    ['a slash (an encoded one in the path)', '../admin'],
    ['nothing', ''],
  ];

  it.each(refused)('refuses %s on the read routes', (_name, userId) => {
    expect(failure(() => USER_ID_PIPE.transform(userId)).details).toEqual([
      { field: 'userId', message: USER_ID_MESSAGE },
    ]);
  });

  it.each(refused)('refuses %s on the write routes', async (_name, userId) => {
    const refusal = await validationPipe()
      .transform({ userId }, { type: 'param', metatype: UserIdParam })
      .then(
        () => null,
        (error: unknown) => error as AppError,
      );
    expect(refusal).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ field: 'userId' }] });
  });

  it('takes every character the contract allows, up to 128', async () => {
    const userId = `auth0|A.b_c:d@e-${'x'.repeat(112)}`;
    expect(userId).toHaveLength(128);
    expect(USER_ID_PIPE.transform(userId)).toBe(userId);
    await expect(
      validationPipe().transform({ userId }, { type: 'param', metatype: UserIdParam }),
    ).resolves.toEqual({ userId });
  });
});

describe("the list route's status filter", () => {
  const pipe = new QueryPipe({ status: STATUS_FILTERS });

  it('takes each documented filter, and refuses any other value', () => {
    for (const status of STATUS_FILTERS) expect(pipe.transform({ status })).toEqual({ status });
    expect(failure(() => pipe.transform({ status: 'pending' })).details?.map((d) => d.field)).toEqual([
      'status',
    ]);
  });
});
