// Bluum's investors generation (BLUUM_API_VERSION=investors, set by the `e2e-investors` project before
// this file loads): the e2e suites that touch Bluum's shapes, run a second time. They load here, in one
// Jest module registry, rather than as eleven spec files of their own: each still starts its own app on
// its own fake Bluum, but the app's modules load once, which saves about half the run's time.
/* eslint-disable @typescript-eslint/no-require-imports -- each suite registers its describe blocks here */
describe("Bluum's investors generation", () => {
  require('../bank-linking.e2e-spec');
  require('../bluum-failures.e2e-spec');
  require('../bluum-retries.e2e-spec');
  require('../disconnect.e2e-spec');
  require('../duplicate-banks.e2e-spec');
  require('../idempotency.e2e-spec');
  require('../reconciliation.e2e-spec');
  require('../repeated-connect.e2e-spec');
  require('../sandbox-item-status.e2e-spec');
  require('../slow-bluum.e2e-spec');
  require('../sync.e2e-spec');
});
