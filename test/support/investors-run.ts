// The `e2e-investors` project's setup: every app a spec file starts there speaks Bluum's investors
// generation (see ./generation.ts).
process.env.BLUUM_API_VERSION = 'investors';
