import { checkCompletionRedirect } from './completion-redirect';

const ALLOWED = new Set(['http://localhost:3000', 'https://app.example.com']);

describe('checkCompletionRedirect', () => {
  it.each([
    [
      'a URL as written',
      'https://app.example.com/banks/linked?x=1',
      'https://app.example.com/banks/linked?x=1',
    ],
    ['a fragment', 'http://localhost:3000/#done', 'http://localhost:3000/#done'],
    ['a bare origin, sent with its /', 'http://localhost:3000', 'http://localhost:3000/'],
    ['a bare https origin, sent with its /', 'https://app.example.com', 'https://app.example.com/'],
  ])('takes %s', (_name, uri, href) => {
    expect(checkCompletionRedirect(uri, ALLOWED)).toEqual({ ok: true, href });
  });

  it.each([
    // new URL throws on it, after class-validator's IsUrl took it: it was a 500.
    ['a host that is not valid punycode', 'http://xn--a.com/', 'absolute http or https URL'],
    // WHATWG reads it as http://localhost:3000/@evil.example/, other parsers as user info before evil.example.
    ['a backslash before @', 'http://localhost:3000\\@evil.example/', 'must not contain \\'],
    ['a backslash in the path', 'http://localhost:3000/a\\b', 'must not contain \\'],
    ['a user', 'http://evil.example@localhost:3000/', 'user info'],
    ['a user and password', 'https://u:p@app.example.com/', 'user info'],
    ['an empty user info', 'https://@app.example.com/', 'normalized form: https://app.example.com/'],
    ['a host in capitals', 'https://APP.example.com/', 'normalized form: https://app.example.com/'],
    ['the default port', 'https://app.example.com:443/', 'normalized form: https://app.example.com/'],
    ['dot segments', 'http://localhost:3000/a/../b', 'normalized form: http://localhost:3000/b'],
    ['an unescaped space', 'http://localhost:3000/a b', 'normalized form: http://localhost:3000/a%20b'],
    ['an IDN host', 'https://bücher.example/', 'normalized form: https://xn--bcher-kva.example/'],
    ['a query on a bare origin', 'http://localhost:3000?x=1', 'normalized form: http://localhost:3000/?x=1'],
    ['a tab the parser drops', 'http://local\thost:3000/', 'normalized form: http://localhost:3000/'],
    ['a relative URL', '/banks', 'absolute http or https URL'],
    ['a javascript: URL', 'javascript:alert(1)', 'absolute http or https URL'],
    ['a data: URL', 'data:text/html,hi', 'absolute http or https URL'],
    ['another origin', 'https://evil.example/', 'allowed origin'],
    ['a look-alike origin', 'https://app.example.com.evil.io/', 'allowed origin'],
    ['the allowed host on another port', 'http://localhost:3001/', 'allowed origin'],
    ['the allowed host on another scheme', 'http://app.example.com/', 'allowed origin'],
  ])('refuses %s', (_name, uri, why) => {
    const result = checkCompletionRedirect(uri, ALLOWED);
    expect(result).toEqual({ ok: false, message: expect.stringContaining(why) });
  });
});
