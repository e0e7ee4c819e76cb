// One parse of a URL that reaches a browser (a hosted link, a completion redirect): the WHATWG parser's,
// with one rule it no longer keeps on every runtime. Node 20's parser refuses a host label that claims to
// be punycode (`xn--…`) and does not decode; Node 24's takes it as written. Such a host names nothing a
// person could read or register, so it is refused here on both.
import { domainToUnicode } from 'node:url';

/** `value` as the WHATWG URL parser reads it, or null when it does not parse or its host is bad punycode. */
export function parseWebUrl(value: string): URL | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  const badPunycode = url.hostname.split('.').some((label) => {
    if (!label.startsWith('xn--')) return false;
    const decoded = domainToUnicode(label);
    return decoded === '' || decoded.startsWith('xn--');
  });
  return badPunycode ? null : url;
}
