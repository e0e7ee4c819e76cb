import { FUNDING_SOURCE_STATUSES } from '../funding-source';

/** `?status=` on a user's list: one status, or `all`; without it, every one that is not disconnected. */
export const STATUS_FILTERS = [...FUNDING_SOURCE_STATUSES, 'all'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];
