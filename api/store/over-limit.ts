/** What an insertWithinLimit answers when the owner already has `limit` records: one shape for every store. */
export const OVER_LIMIT = 'over-limit' as const;
export type OverLimit = typeof OVER_LIMIT;
