// The `e2e-investors` project's setup: every app a spec file starts there speaks Bluum's investors
// generation (see ./generation.ts). A variable of the tests' own, so that a BLUUM_API_VERSION exported in
// the shell changes no project.
process.env.TEST_BLUUM_API_VERSION = 'investors';
