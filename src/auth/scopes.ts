// The scopes a caller other than the user may hold, route by route (@Access). Known to the configuration
// too: an AUTH_SERVICE_KEYS entry naming any other scope is a typo that would grant nothing, so the boot
// refuses it.
export const SCOPES = ['users:write', 'funding-sources:read'] as const;

export type Scope = (typeof SCOPES)[number];
