import { createHmac } from 'node:crypto';
import { InvalidTokenError, signHs256, verifyHs256 } from './jwt';

const SECRET = 'unit-secret-0123456789abcdef0123456789';
const NOW = 1_800_000_000;
const b64 = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const sign = (header: object, payload: object, secret = SECRET): string => {
  const unsigned = `${b64(header)}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
};
const HS256 = { alg: 'HS256', typ: 'JWT' };

describe('verifyHs256', () => {
  it('returns the claims of a valid token, with defaults for roles and scope', () => {
    expect(verifyHs256(signHs256({ sub: 'b'.repeat(128), exp: NOW + 60 }, SECRET), SECRET, NOW).sub).toBe(
      'b'.repeat(128),
    );
    expect(verifyHs256(signHs256({ sub: 'user_1', exp: NOW + 60 }, SECRET), SECRET, NOW)).toEqual({
      sub: 'user_1',
      exp: NOW + 60,
      roles: [],
      scope: '',
    });
    expect(
      verifyHs256(signHs256({ sub: 'a', exp: NOW + 1, roles: ['admin'], scope: 'x y' }, SECRET), SECRET, NOW),
    ).toMatchObject({ roles: ['admin'], scope: 'x y' });
  });

  const rejected: [string, () => string][] = [
    ['another secret', () => sign(HS256, { sub: 'a', exp: NOW + 60 }, 'another-secret')],
    [
      'a tampered payload',
      () => {
        const [h, , s] = signHs256({ sub: 'a', exp: NOW + 60 }, SECRET).split('.');
        return `${h}.${b64({ sub: 'admin', exp: NOW + 60, roles: ['admin'] })}.${s}`;
      },
    ],
    ['alg none without a signature', () => `${b64({ alg: 'none' })}.${b64({ sub: 'a', exp: NOW + 60 })}.`],
    ['alg none with a signature', () => sign({ alg: 'none' }, { sub: 'a', exp: NOW + 60 })],
    ['alg HS512', () => sign({ alg: 'HS512' }, { sub: 'a', exp: NOW + 60 })],
    ['alg RS256', () => sign({ alg: 'RS256' }, { sub: 'a', exp: NOW + 60 })],
    ['no exp', () => sign(HS256, { sub: 'a' })],
    ['a string exp', () => sign(HS256, { sub: 'a', exp: String(NOW + 60) })],
    ['an expired token', () => sign(HS256, { sub: 'a', exp: NOW - 1 })],
    ['exp equal to now', () => sign(HS256, { sub: 'a', exp: NOW })],
    ['nbf in the future', () => sign(HS256, { sub: 'a', exp: NOW + 60, nbf: NOW + 30 })],
    ['no sub', () => sign(HS256, { exp: NOW + 60 })],
    ['an empty sub', () => sign(HS256, { sub: '', exp: NOW + 60 })],
    ['a string nbf', () => sign(HS256, { sub: 'a', exp: NOW + 60, nbf: String(NOW - 60) })],
    ['a numeric sub', () => sign(HS256, { sub: 42, exp: NOW + 60 })],
    ['a sub of 129 characters', () => sign(HS256, { sub: 'a'.repeat(129), exp: NOW + 60 })],
    ['a sub that is no user id', () => sign(HS256, { sub: 'a b/../c', exp: NOW + 60 })],
    ['roles that are not strings', () => sign(HS256, { sub: 'a', exp: NOW + 60, roles: [1] })],
    ['roles that are a string', () => sign(HS256, { sub: 'a', exp: NOW + 60, roles: 'admin' })],
    ['a non-string scope', () => sign(HS256, { sub: 'a', exp: NOW + 60, scope: ['x'] })],
    [
      'a non-canonical signature encoding',
      () => {
        const token = sign(HS256, { sub: 'a', exp: NOW + 60 });
        // The last base64url character of a 32-byte value carries 2 unused bits; flipping them keeps the bytes.
        const last = token.at(-1) as string;
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const twin = alphabet[alphabet.indexOf(last) ^ 1];
        return token.slice(0, -1) + twin;
      },
    ],
    ['an empty token', () => ''],
    ['two segments', () => `${b64(HS256)}.${b64({ sub: 'a', exp: NOW + 60 })}`],
    ['four segments', () => `${sign(HS256, { sub: 'a', exp: NOW + 60 })}.x`],
    ['a header that is not JSON', () => `bm90LWpzb24.${b64({ sub: 'a', exp: NOW + 60 })}.sig`],
    [
      'a signed payload that is not JSON',
      () => {
        const unsigned = `${b64(HS256)}.${Buffer.from('{"sub":"a",').toString('base64url')}`;
        return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
      },
    ],
    [
      'a header that is a JSON string',
      () => `${Buffer.from('"HS256"').toString('base64url')}.${b64({})}.sig`,
    ],
    ['a payload that is a JSON array', () => sign(HS256, ['a'])],
    ['characters outside base64url', () => `${b64(HS256)}.${b64({ sub: 'a', exp: NOW + 60 })}.a+b/c=`],
  ];

  it.each(rejected)('rejects %s', (_name, token) => {
    expect(() => verifyHs256(token(), SECRET, NOW)).toThrow(InvalidTokenError);
  });

  it('judges exp and nbf against the injected clock', () => {
    const token = signHs256({ sub: 'a', nbf: NOW, exp: NOW + 60 }, SECRET);
    expect(verifyHs256(token, SECRET, NOW)).toMatchObject({ sub: 'a' });
    expect(verifyHs256(token, SECRET, NOW + 59)).toMatchObject({ sub: 'a' });
    expect(() => verifyHs256(token, SECRET, NOW + 60)).toThrow(InvalidTokenError);
    expect(() => verifyHs256(token, SECRET, NOW - 1)).toThrow(InvalidTokenError);
  });

  it('accepts nothing but the exact signature: a re-spelling of the same bytes is refused', () => {
    const token = sign(HS256, { sub: 'a', exp: NOW + 60 });
    const signature = token.split('.')[2];
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = signature.slice(0, -1) + alphabet[alphabet.indexOf(signature.at(-1) as string) ^ 1];
    // The premise of the case above: both spellings decode to the very same HMAC.
    expect(Buffer.from(twin, 'base64url').equals(Buffer.from(signature, 'base64url'))).toBe(true);
    expect(verifyHs256(token, SECRET, NOW)).toMatchObject({ sub: 'a' });
    expect(() => verifyHs256(token.slice(0, -signature.length) + twin, SECRET, NOW)).toThrow(
      InvalidTokenError,
    );
  });
});
