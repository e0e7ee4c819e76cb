import { parseWebUrl } from './web-url';

describe('parseWebUrl', () => {
  it.each([
    ['an https URL', 'https://cdn.plaid.com/link/v2', 'cdn.plaid.com'],
    ['a valid IDN host in punycode', 'https://xn--bcher-kva.example/', 'xn--bcher-kva.example'],
    ['an IDN host, as the parser writes it', 'https://bücher.example/', 'xn--bcher-kva.example'],
  ])('reads %s', (_name, value, host) => {
    expect(parseWebUrl(value)?.host).toBe(host);
  });

  it.each([
    ['not a URL at all', 'not a url'],
    ['a relative path', '/done'],
    // Node 20's parser refuses these, Node 24's takes them: refused on both.
    ['a label that is not valid punycode', 'https://xn--a.com/'],
    ['a bad punycode label below a good host', 'http://xn--a.localhost:3000/'],
  ])('refuses %s', (_name, value) => {
    expect(parseWebUrl(value)).toBeNull();
  });
});
