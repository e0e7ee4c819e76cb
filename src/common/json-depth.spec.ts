import { jsonNestsDeeperThan } from './json-depth';

describe('jsonNestsDeeperThan', () => {
  it.each([
    ['{"a":1}', 1, false],
    ['{"a":{"b":[1]}}', 3, false],
    ['{"a":{"b":[1]}}', 2, true],
    ['[[[]]]', 3, false],
    ['[[[[]]]]', 3, true],
    ['[]', 0, true],
    ['"plain"', 0, false],
  ])('%s within %i levels: deeper is %s', (text, max, deeper) => {
    expect(jsonNestsDeeperThan(text, max)).toBe(deeper);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(jsonNestsDeeperThan('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":"\\"[[[[\\""}', 1)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":"\\\\","b":[[1]]}', 2)).toBe(true);
  });

  it('catches 20,000 levels without recursion', () => {
    expect(jsonNestsDeeperThan('['.repeat(20_000) + ']'.repeat(20_000), 32)).toBe(true);
  });
});
