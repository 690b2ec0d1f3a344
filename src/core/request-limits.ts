/** Most events one request or batch may carry (POST /v1/events, /v1/batches; config limits.maxBatchEvents at most this). */
export const MAX_EVENTS_PER_REQUEST = 10_000;
