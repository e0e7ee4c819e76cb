// Bluum's investors generation (BLUUM_API_VERSION=investors for every test app: the `e2e-investors`
// project's setup file says so before this file loads): the e2e suites that touch Bluum's shapes, run a
// second time. They load here, in one Jest module registry, rather than as twelve spec files of their
// own: each still starts its own app on its own fake Bluum, but the app's modules load once, which saves
// about four fifths of the second run's time. The suites keep no state of their own at module level and
// register no hook outside their describe block; keep it so (a top-level hook would meet every suite).
/* eslint-disable @typescript-eslint/no-require-imports -- each suite registers its describe blocks here */
import { GENERATION } from '../support/generation';

describe("Bluum's investors generation", () => {
  // Were the setup file lost, every suite below would pass again in the accounts generation, unnoticed.
  it('starts every test app with BLUUM_API_VERSION=investors', () => {
    expect(GENERATION).toBe('investors');
  });

  require('../bank-linking.e2e-spec');
  require('../bluum-failures.e2e-spec');
  require('../bluum-retries.e2e-spec');
  require('../disconnect.e2e-spec');
  require('../duplicate-banks.e2e-spec');
  require('../idempotency.e2e-spec');
  require('../logging.e2e-spec');
  require('../reconciliation.e2e-spec');
  require('../repeated-connect.e2e-spec');
  require('../sandbox-item-status.e2e-spec');
  require('../slow-bluum.e2e-spec');
  require('../sync.e2e-spec');
});
