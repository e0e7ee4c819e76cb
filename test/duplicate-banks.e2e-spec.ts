// Linking a bank the user already has: with Plaid Link's metadata, connect refuses it (409 DUPLICATE_ITEM,
// the existing funding sources in the body) before the public token reaches Bluum; without it, the
// duplicate is stored and the audit trail says which item it duplicates. A bank in error or
// disconnected may always be linked again: that is how a user repairs it. What counts as the same bank
// is src/funding-sources/reconcile.spec.ts's table; which banks each user's duplicates are among (another
// user's, another mask, a first link) is test/medium/duplicate-banks.medium-spec.ts's.
import { randomBytes, randomUUID } from 'node:crypto';
import { wireItem } from '../src/bluum/wire-fixtures';
import type { ConnectMetadataDto } from '../src/funding-sources/dto/connect-metadata.dto';
import type { FundingSourceDto } from '../src/funding-sources/dto/funding-source.dto';
import { type Api, testApi } from './support/api';
import { FakeBluum, type FakeItem } from './support/fake-bluum';
import { PER_ACCOUNT } from './support/generation';
import {
  countStored,
  registerUser,
  sandboxPublicToken,
  startTestApp,
  type TestApp,
} from './support/test-app';
import { tokenFor } from './support/tokens';

type Account = { mask: string; name: string };
const CHECKING: Account = { mask: '0000', name: 'Plaid Checking' };
const SAVING: Account = { mask: '1111', name: 'Plaid Saving' };

/** What Bluum links for a bank with these accounts at `institutionId`, under fresh ids. */
function bank(accounts: Account[], institutionId = 'ins_3'): FakeItem {
  return wireItem({
    id: randomUUID(),
    itemId: `item_${randomBytes(6).toString('hex')}`,
    institutionId,
    institutionName: 'First Platypus Bank',
    accounts: accounts.map(({ mask, name }) => ({
      id: randomUUID(),
      accountId: `acc_${randomBytes(6).toString('hex')}`,
      accountName: name,
      mask,
    })),
  }) as unknown as FakeItem;
}

const metadataFor = (accounts: Account[], institutionId = 'ins_3'): ConnectMetadataDto => ({
  institution: { id: institutionId },
  accounts,
});

const byId = (sources: readonly FundingSourceDto[]): FundingSourceDto[] =>
  [...sources].sort((a, b) => a.id.localeCompare(b.id));

describe('duplicate banks', () => {
  const lines: string[] = [];
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    app = await startTestApp(
      { BLUUM_BASE_URL: bluum.url, LOG_LEVEL: 'info' },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    );
    api = testApi(app);
  });
  afterAll(async () => {
    await app?.close();
    await bluum?.close();
  });
  beforeEach(() => bluum.reset());

  const connectCalls = (): number => bluum.calls('connect').length;

  /** A user with one bank linked through Bluum (with metadata, as a frontend would send it). */
  async function userWithBank(accounts: Account[] = [CHECKING, SAVING]) {
    const { userId } = await registerUser(app);
    bluum.nextConnectLinks(bank(accounts));
    const first = await api.as(userId).connect({ metadata: metadataFor(accounts) });
    expect(first.status).toBe(201);
    return { userId, linked: first.body };
  }

  it('refuses the same bank with metadata: 409 with the existing funding sources, Bluum never called', async () => {
    const { userId, linked } = await userWithBank([CHECKING, SAVING]);
    bluum.reset();
    const publicToken = sandboxPublicToken();

    // The same set of accounts, in the other order.
    const res = await api.as(userId).connect({ publicToken, metadata: metadataFor([SAVING, CHECKING]) });

    expect(res.status).toBe(409);
    expect(res.error.code).toBe('DUPLICATE_ITEM');
    expect(byId(res.error.fundingSources ?? [])).toEqual(byId(linked.fundingSources));
    expect(res.error.details).toBeUndefined();
    expect(res.text).not.toContain(publicToken);
    expect(bluum.requests).toEqual([]);
    expect(await countStored(app, userId)).toEqual({ items: 1, accounts: 2 });
    // The claim was given up, not completed: the token was never exchanged.
    expect(await app.prisma.publicTokenExchange.count({ where: { userId } })).toBe(1);
  });

  it('after a 409 the same public token links the bank once the old link is disconnected', async () => {
    const { userId, linked } = await userWithBank([CHECKING]);
    const publicToken = sandboxPublicToken();
    const metadata = metadataFor([CHECKING]);
    expect((await api.as(userId).connect({ publicToken, metadata })).status).toBe(409);

    // Its last account takes the item with it, at Bluum too: a disconnected bank is no duplicate.
    expect((await api.as(userId).disconnect(linked.fundingSources[0].id)).status).toBe(200);
    bluum.reset();
    bluum.nextConnectLinks(bank([CHECKING]));
    const again = await api.as(userId).connect({ publicToken, metadata });
    expect(again.status).toBe(201);
    expect(connectCalls()).toBe(1);
  });

  it('links a bank in error again: re-linking is how the user repairs it', async () => {
    const { userId, linked } = await userWithBank([CHECKING]);
    // Bluum now lists the item in error; a sync takes that status.
    const atBluum = [...bluum.items.values()].flat().find((i) => i.itemId === linked.item.itemId);
    if (!atBluum) throw new Error('the fake Bluum does not hold the linked item');
    atBluum.status = 'ERROR';
    expect((await api.as(userId).sync()).body.data.map((s) => s.status)).toEqual(['error']);

    bluum.reset();
    bluum.nextConnectLinks(bank([CHECKING]));
    const res = await api.as(userId).connect({ metadata: metadataFor([CHECKING]) });
    expect(res.status).toBe(201);
    expect(connectCalls()).toBe(1);
  });

  it('replays the first answer when onSuccess fires twice with metadata (not a 409 for the bank it just linked)', async () => {
    const { userId } = await registerUser(app);
    const publicToken = sandboxPublicToken();
    const metadata = metadataFor([CHECKING]);
    bluum.nextConnectLinks(bank([CHECKING]));

    const first = await api.as(userId).connect({ publicToken, metadata });
    const second = await api.as(userId).connect({ publicToken, metadata });

    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toEqual(first.body);
    expect(connectCalls()).toBe(1);
  });

  it('replays the same submit sent twice at once with metadata: 201 and 200, one Bluum call', async () => {
    const { userId } = await registerUser(app);
    const publicToken = sandboxPublicToken();
    const metadata = metadataFor([CHECKING]);
    bluum.nextConnectLinks(bank([CHECKING]));
    // Bluum takes its time, so the second arrives while the first holds the token.
    bluum.failNext({ delayMs: 300 });

    const answers = await Promise.all([
      api.as(userId).connect({ publicToken, metadata }),
      api.as(userId).connect({ publicToken, metadata }),
    ]);

    expect(answers.map((a) => a.status).sort()).toEqual([200, 201]);
    expect(answers[0].body).toEqual(answers[1].body);
    expect(connectCalls()).toBe(1);
  });

  it('keeps a 409 under its Idempotency-Key: the same request replays it, still without Bluum', async () => {
    const { userId } = await userWithBank([CHECKING]);
    bluum.reset();
    const input = {
      publicToken: sandboxPublicToken(),
      idempotencyKey: randomUUID(),
      metadata: metadataFor([CHECKING]),
    };

    const first = await api.as(userId).connect(input);
    const again = await api.as(userId).connect(input);

    expect([first.status, again.status]).toEqual([409, 409]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.error.code).toBe('DUPLICATE_ITEM');
    expect(again.error.fundingSources).toEqual(first.error.fundingSources);
    expect(bluum.requests).toEqual([]);
  });

  // Bluum's investors generation names no institution: without Plaid Link's metadata there is nothing to
  // key the bank on, and it is stored as any new bank (src/funding-sources/reconcile.ts).
  it('without metadata stores the duplicate, and the audit trail and one warn line say which item it duplicates, where Bluum names the institution', async () => {
    const { userId, linked } = await userWithBank([CHECKING, SAVING]);
    bluum.reset();
    const publicToken = sandboxPublicToken();
    bluum.nextConnectLinks(bank([SAVING, CHECKING]));
    const warnsBefore = lines.length;

    const res = await api.as(userId).connect({ publicToken });

    expect(res.status).toBe(201);
    expect(await countStored(app, userId)).toEqual({ items: 2, accounts: 4 });
    const events = (await api.admin().events(userId)).body.data.filter((e) => e.type === 'linked');
    const duplicateOf = (ids: string[]) =>
      events.filter((e) => ids.includes(e.fundingSourceId)).map((e) => e.details.duplicateOfItemId);
    const noted = PER_ACCOUNT ? undefined : linked.item.itemId;
    expect(duplicateOf(res.body.fundingSources.map((s) => s.id))).toEqual([noted, noted]);
    expect(duplicateOf(linked.fundingSources.map((s) => s.id))).toEqual([undefined, undefined]);

    const warns = lines
      .slice(warnsBefore)
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((line) => line.level === 40 && line.msg.includes('duplicates'));
    expect(warns).toHaveLength(PER_ACCOUNT ? 0 : 1);
    for (const warn of warns) {
      expect(warn.msg).toContain(res.body.item.itemId);
      expect(warn.msg).toContain(linked.item.itemId);
    }
    expect(lines.join('\n')).not.toContain(publicToken);
  });

  // Every malformed shape is a row of src/common/validation-pipe.spec.ts; over HTTP, one shows that the
  // refusal comes before the public token is claimed or reaches Bluum.
  describe('malformed metadata is a 400 that changes nothing and calls no one', () => {
    it.each<[string, unknown, string]>([
      [
        'an unknown account field',
        { institution: { id: 'ins_3' }, accounts: [{ mask: '0000', name: 'Plaid Checking', id: 'acc_1' }] },
        'metadata.accounts.0.id',
      ],
    ])('%s', async (_, metadata, field) => {
      const { userId } = await registerUser(app);
      const publicToken = sandboxPublicToken();
      const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: tokenFor(userId),
        body: { publicToken, metadata },
      });

      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect((res.body.details as { field: string }[]).map((d) => d.field)).toContain(field);
      expect(res.text).not.toContain(publicToken);
      expect(bluum.requests).toEqual([]);
      expect(await countStored(app, userId)).toEqual({ items: 0, accounts: 0 });
      expect(await app.prisma.publicTokenExchange.count({ where: { userId } })).toBe(0);
    });
  });
});
