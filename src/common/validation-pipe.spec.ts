// The app's validation pipe on the request bodies with rules worth a table: every malformed value is
// VALIDATION_FAILED naming its field, before any handler runs (so nothing is stored and Bluum is not
// called: the e2e specs show that once over HTTP).
import type { ArgumentMetadata } from '@nestjs/common';
import { AdminListQuery } from '../funding-sources/dto/admin-list.query';
import { ConnectDto } from '../funding-sources/dto/connect.dto';
import { PutUserDto } from '../users/dto/put-user.dto';
import { AppError } from './app-error';
import { validationPipe } from './validation-pipe';

const pipe = validationPipe();
const body = (metatype: ArgumentMetadata['metatype']): ArgumentMetadata => ({ type: 'body', metatype });

/** The fields a body (or a query) fails on ([] when it passes); any other error fails the test. */
async function failedFields(
  metatype: ArgumentMetadata['metatype'],
  value: unknown,
  type: ArgumentMetadata['type'] = 'body',
): Promise<string[]> {
  try {
    await pipe.transform(value, { type, metatype });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    const { code, status, details } = error as AppError;
    expect({ code, status }).toEqual({ code: 'VALIDATION_FAILED', status: 400 });
    expect(details?.length).toBeGreaterThan(0);
    return (details ?? []).map((detail) => detail.field);
  }
}

describe('PUT /v1/users/{userId} body (PutUserDto)', () => {
  it.each([
    ['a missing bluumAccountId', {}],
    ['a number', { bluumAccountId: 12 }],
    ['an empty string', { bluumAccountId: '' }],
    ['a path-like value', { bluumAccountId: '../admin' }],
    // Each would leave its path segment in Bluum's URL (`..` reached POST /v1/funding-sources/…).
    ['..', { bluumAccountId: '..' }],
    ['.', { bluumAccountId: '.' }],
    ['two dots inside', { bluumAccountId: 'acct..1' }],
    ['a leading dot', { bluumAccountId: '.acct' }],
    ['a trailing dot', { bluumAccountId: 'acct.' }],
    ['a slash', { bluumAccountId: 'acct/1' }],
    ['a backslash', { bluumAccountId: 'acct\\1' }],
    ['a percent sign', { bluumAccountId: '%2e%2e' }],
    ['a question mark', { bluumAccountId: 'acct?x=1' }],
    ['a hash', { bluumAccountId: 'acct#1' }],
    ['a space', { bluumAccountId: 'acct 1' }],
    ['a newline', { bluumAccountId: 'acct\n' }],
    ['129 characters', { bluumAccountId: 'a'.repeat(129) }],
  ])('refuses %s, naming bluumAccountId', async (_name, value) => {
    expect(await failedFields(PutUserDto, value)).toContain('bluumAccountId');
  });

  it('refuses an unknown field, naming it', async () => {
    expect(await failedFields(PutUserDto, { bluumAccountId: 'acct_1', role: 'admin' })).toEqual(['role']);
  });

  it.each([
    ['acct_123', 'acct_123'],
    ['a UUID', '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b'],
    ['single dots inside', 'acct.sub_1-x'],
    ['one character', 'A'],
    ['128 characters', 'a'.repeat(128)],
  ])('accepts a bluumAccountId of %s as it is', async (_name, bluumAccountId) => {
    await expect(pipe.transform({ bluumAccountId }, body(PutUserDto))).resolves.toEqual({ bluumAccountId });
  });
});

describe('POST …/plaid/connect body (ConnectDto): Plaid Link metadata', () => {
  const publicToken = 'public-sandbox-0001';
  const account = { mask: '0000', name: 'Plaid Checking' };
  const institution = { id: 'ins_3' };

  it.each<[string, unknown, string]>([
    ['an array', [], 'metadata'],
    ['a string', 'ins_3', 'metadata'],
    ['without accounts', { institution }, 'metadata.accounts'],
    ['without institution', { accounts: [account] }, 'metadata.institution'],
    ['no accounts', { institution, accounts: [] }, 'metadata.accounts'],
    ['101 accounts', { institution, accounts: Array(101).fill(account) }, 'metadata.accounts'],
    ['accounts not a list', { institution, accounts: account }, 'metadata.accounts'],
    ['an account that is a string', { institution, accounts: ['0000'] }, 'metadata.accounts'],
    ['an account that is a list', { institution, accounts: [[account]] }, 'metadata.accounts'],
    ['an unknown field', { institution, accounts: [account], linkSessionId: 'x' }, 'metadata.linkSessionId'],
    [
      "Plaid's raw institution shape",
      { institution: { name: 'Chase', institution_id: 'ins_3' }, accounts: [account] },
      'metadata.institution.institution_id',
    ],
    [
      'an unknown account field',
      { institution, accounts: [{ ...account, id: 'acc_1' }] },
      'metadata.accounts.0.id',
    ],
    ['an empty institution id', { institution: { id: '' }, accounts: [account] }, 'metadata.institution.id'],
    [
      'an institution id of 256 characters',
      { institution: { id: 'i'.repeat(256) }, accounts: [account] },
      'metadata.institution.id',
    ],
    ['a numeric mask', { institution, accounts: [{ ...account, mask: 0 }] }, 'metadata.accounts.0.mask'],
    ['a null mask', { institution, accounts: [{ ...account, mask: null }] }, 'metadata.accounts.0.mask'],
    [
      'a mask of 17 characters',
      { institution, accounts: [{ ...account, mask: '1'.repeat(17) }] },
      'metadata.accounts.0.mask',
    ],
    [
      'a name of 256 characters',
      { institution, accounts: [account, { ...account, name: 'n'.repeat(256) }] },
      'metadata.accounts.1.name',
    ],
    ['an account without a name', { institution, accounts: [{ mask: '0000' }] }, 'metadata.accounts.0.name'],
  ])('refuses metadata that is %s', async (_name, metadata, field) => {
    expect(await failedFields(ConnectDto, { publicToken, metadata })).toContain(field);
  });

  it('accepts the metadata Plaid Link gives, and no metadata at all', async () => {
    const metadata = { institution, accounts: [account, { mask: '1111', name: 'Plaid Saving' }] };
    await expect(pipe.transform({ publicToken, metadata }, body(ConnectDto))).resolves.toEqual({
      publicToken,
      metadata,
    });
    expect(await failedFields(ConnectDto, { publicToken })).toEqual([]);
  });
});

describe('GET /v1/admin/funding-sources query (AdminListQuery)', () => {
  it.each([
    ['limit=0', { limit: '0' }, 'limit'],
    ['limit=101', { limit: '101' }, 'limit'],
    ['limit=ten', { limit: 'ten' }, 'limit'],
    ['an unknown status', { status: 'gone' }, 'status'],
    ['an unknown parameter', { sort: 'asc' }, 'sort'],
    ['an institution of 101 characters', { institution: 'i'.repeat(101) }, 'institution'],
    ['a userId that is no user id', { userId: 'a b' }, 'userId'],
  ])('refuses %s', async (_name, query, field) => {
    // Only that field (a field may fail several rules).
    expect([...new Set(await failedFields(AdminListQuery, query, 'query'))]).toEqual([field]);
  });

  it('takes a page size from the query string as a number', async () => {
    await expect(
      pipe.transform({ limit: '100', status: 'all' }, { type: 'query', metatype: AdminListQuery }),
    ).resolves.toEqual({ limit: 100, status: 'all' });
  });
});
