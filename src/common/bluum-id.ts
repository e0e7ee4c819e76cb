// Ids that this service puts into a Bluum URL path: the user's bluumAccountId and the funding-source id
// Bluum sends back for an item. Bluum's ids are short tokens and UUIDs (`acct_123`,
// `3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b`); nothing they need can turn into a path of its own.

/**
 * Dot-separated runs of `A-Z a-z 0-9 _ -`: a `.` only between two such characters, so never `.`, `..`,
 * a leading or trailing dot or two dots in a row; never `/`, `\`, `%`, `?`, `#` or whitespace.
 * The length is checked apart (see `isSafeBluumId`), so the pattern has no limit of its own.
 */
export const BLUUM_ID_CHARACTERS = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

/** The longest bluumAccountId a client may register. */
export const BLUUM_ACCOUNT_ID_MAX_LENGTH = 128;

/** `BLUUM_ID_CHARACTERS` with bluumAccountId's length limit, for the DTO's `@Matches` and Swagger. */
export const BLUUM_ACCOUNT_ID_PATTERN = new RegExp(
  `^(?=.{1,${BLUUM_ACCOUNT_ID_MAX_LENGTH}}$)${BLUUM_ID_CHARACTERS.source.slice(1)}`,
);

export const BLUUM_ACCOUNT_ID_RULE = `1-${BLUUM_ACCOUNT_ID_MAX_LENGTH} characters of A-Z a-z 0-9 _ - and single dots between them (no "..", no leading or trailing dot)`;

/** Whether `value` is a string of 1-`maxLength` characters that can only ever be one path segment. */
export function isSafeBluumId(value: unknown, maxLength: number): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= maxLength &&
    BLUUM_ID_CHARACTERS.test(value)
  );
}
