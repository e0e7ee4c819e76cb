// The hosted link's completionRedirectUri, judged on one parse: the WHATWG URL parser's, which browsers
// use when they follow the redirect. Two parsers that read one string two ways are how a URI passes an
// allow-list and sends the user elsewhere, so what is checked here is exactly what Bluum is sent.
import { AppError } from '../common/app-error';
import { parseWebUrl } from '../common/web-url';

export type CompletionRedirect = { ok: true; href: string } | { ok: false; message: string };

/**
 * `uri` as Bluum gets it (its normalized `href`), or why it is refused: it does not parse as an absolute
 * http(s) URL, it holds a `\` or user info, it is not written in its normalized form, or its origin is
 * not one of `allowedOrigins`.
 */
export function checkCompletionRedirect(
  uri: string,
  allowedOrigins: ReadonlySet<string>,
): CompletionRedirect {
  const refuse = (why: string): CompletionRedirect => ({
    ok: false,
    message: `completionRedirectUri ${why}`,
  });
  // Browsers read `\` as `/` in http(s) URLs, other parsers as part of the user info or path.
  if (uri.includes('\\')) return refuse('must not contain \\');
  const url = parseWebUrl(uri);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return refuse('must be an absolute http or https URL');
  }
  // user@ before the host reads, to a person, as if the host were something else.
  if (url.username !== '' || url.password !== '') return refuse('must not contain user info (…@)');
  // Refused rather than silently rewritten (case, default port, dot segments, escapes, IDN): the caller
  // learns the form that will be used. A bare origin (`https://app.example.com`, how the allow-list's
  // entries are written) is taken: its only difference is the path `/` every URL of it has.
  if (url.href !== uri && url.origin !== uri) {
    return refuse(`must be written in its normalized form: ${url.href}`);
  }
  if (!allowedOrigins.has(url.origin)) {
    return refuse('must be on an allowed origin (LINK_COMPLETION_REDIRECT_ORIGINS)');
  }
  return { ok: true, href: url.href };
}

/**
 * The completionRedirectUri of a link-token request as Bluum is to get it, or VALIDATION_FAILED: a
 * redirect to anywhere would make the hosted link an open redirect, so only `allowedOrigins`, and only
 * with the hosted link.
 */
export function requireCompletionRedirect(
  uri: string,
  enableHostedLink: boolean,
  allowedOrigins: ReadonlySet<string>,
): string {
  const refuse = (message: string): never => {
    throw new AppError('VALIDATION_FAILED', message, [{ field: 'completionRedirectUri', message }]);
  };
  if (!enableHostedLink) refuse('completionRedirectUri is for the hosted link only (enableHostedLink: true)');
  const checked = checkCompletionRedirect(uri, allowedOrigins);
  return checked.ok ? checked.href : refuse(checked.message);
}
