// Which of Bluum's generations this run's apps speak (docs: BLUUM_API_VERSION). The e2e specs that touch
// Bluum's shapes run twice: once as they are (the `e2e` project, Bluum's accounts generation, the default)
// and once with BLUUM_API_VERSION=investors (the `e2e-investors` project sets TEST_BLUUM_API_VERSION before
// a spec file loads, and the test apps are started with it).
// What differs between the two runs for a user of this API is said here once, so a spec states what it
// relies on and not which generation it runs in.
import { randomBytes } from 'node:crypto';
import type { FundingSourceDto } from '../../src/funding-sources/dto/funding-source.dto';
import type { BluumApiVersion } from '../../src/config/config-schema';
import type { FakeBluum } from './fake-bluum-server';

export const GENERATION: BluumApiVersion =
  process.env.TEST_BLUUM_API_VERSION === 'investors' ? 'investors' : 'accounts';

/** Bluum names each bank account as a funding source of its own (fs_…), not the item. */
export const PER_ACCOUNT = GENERATION === 'investors';

/** A Bluum account id in this generation's form (`acct_…`, or the investor's `inv_…`); fresh unless named. */
export function bluumAccountIdFor(name = randomBytes(6).toString('hex')): string {
  return `${PER_ACCOUNT ? 'inv' : 'acct'}_${name}`;
}

/** A path on Bluum below the owner's funding sources, as this generation's adapter calls it. */
export function bluumPath(owner: string, below = ''): string {
  return `/v1/${GENERATION}/${owner}/funding-sources${below}`;
}

/**
 * What a deposit service merges into its transfer request, and the fields that go with it: Plaid's ids in
 * the accounts generation, the bank account's own fs_ id in the investors generation.
 */
export function expectTransferFields(source: FundingSourceDto): void {
  if (PER_ACCOUNT) {
    expect(source.bluumFundingSourceId).toMatch(/^fs_/);
    expect(source).toMatchObject({ accountId: null, plaidOptions: null });
    expect(source.transferOptions).toEqual({ funding_source_id: source.bluumFundingSourceId });
  } else {
    expect(source.plaidOptions).toEqual({ item_id: source.itemId, account_id: source.accountId });
    expect(source.transferOptions).toEqual({ plaid_options: source.plaidOptions });
  }
}

/**
 * The fields that name bank account `index` of the item `itemId` Bluum linked for `owner`, as a funding
 * source answers them: Plaid's ids in the accounts generation, the account's fs_ row in the investors one.
 */
export function bluumNames(
  bluum: FakeBluum,
  owner: string,
  itemId: string,
  index = 0,
): Partial<FundingSourceDto> {
  if (PER_ACCOUNT) {
    const row = bluum.rows(owner).filter((candidate) => candidate.provider_id === itemId)[index];
    const id = String(row.id);
    return {
      itemId,
      accountId: null,
      plaidOptions: null,
      bluumFundingSourceId: id,
      transferOptions: { funding_source_id: id },
    };
  }
  const item = bluum.items.get(owner)!.find((candidate) => candidate.itemId === itemId)!;
  const accountId = String(item.accounts[index].accountId);
  const plaidOptions = { item_id: itemId, account_id: accountId };
  return { itemId, accountId, plaidOptions, transferOptions: { plaid_options: plaidOptions } };
}

/** Where this generation's connect is, below the owner's funding sources. */
export const CONNECT_BELOW = PER_ACCOUNT ? '/connect' : '/plaid/connect';

/** A call's path template below the owner's funding sources, as the gateway's log lines name it. */
export function bluumTemplate(below = ''): string {
  return `/${GENERATION}/{${PER_ACCOUNT ? 'investorId' : 'accountId'}}/funding-sources${below}`;
}

/** The gateway's log line for one Bluum call: `Bluum <method> <template> <status> in <n>ms`. */
export function bluumCallLine(method: string, below: string, status: number): RegExp {
  const template = bluumTemplate(below).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^Bluum ${method} ${template} ${status} in \\d+ms$`);
}
