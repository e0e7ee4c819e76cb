import {
  FUNDING_SOURCE_ID_MESSAGE,
  FUNDING_SOURCE_ID_PIPE,
} from '../funding-sources/dto/funding-source.params';
import { AppError } from './app-error';
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
