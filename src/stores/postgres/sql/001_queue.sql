-- The shared queue: one row per event. `event` is the whole event as stored (unknown fields kept);
-- the other columns are derived from it by Postgres (stored generated columns), so a write only
-- ever sets `event` and the indexed columns can never disagree with it. Times are epoch ms.
-- A row's edits are ordered by (client_id, seq, ts, id), the order the server applies them in;
-- client_id and seq read '' and -1 when the event has none.
CREATE TABLE @schema@.events (
  id              text COLLATE "C" PRIMARY KEY,
  pos             bigserial NOT NULL,
  event           jsonb NOT NULL,
  status          text NOT NULL GENERATED ALWAYS AS (event->>'status') STORED,
  entity          text NOT NULL GENERATED ALWAYS AS (event->>'entity') STORED,
  entity_id       text NOT NULL GENERATED ALWAYS AS (event->>'entityId') STORED,
  client_id       text COLLATE "C" NOT NULL GENERATED ALWAYS AS (coalesce(event->>'clientId', '')) STORED,
  seq             bigint NOT NULL GENERATED ALWAYS AS (coalesce((event->'seq')::bigint, -1)) STORED,
  ts              double precision NOT NULL GENERATED ALWAYS AS ((event->'timestamp')::double precision) STORED,
  next_attempt_at double precision GENERATED ALWAYS AS ((event->'nextAttemptAt')::double precision) STORED,
  lease_until     double precision GENERATED ALWAYS AS ((event->'leaseUntil')::double precision) STORED,
  lease_owner     text GENERATED ALWAYS AS (event->>'leaseOwner') STORED,
  attempts        integer GENERATED ALWAYS AS ((event->'attempts')::integer) STORED,
  CONSTRAINT events_id_matches CHECK (event->>'id' = id),
  CONSTRAINT events_status_known CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'dead'))
);

-- claim: one ordered partial index per claimable status
CREATE INDEX events_pending_due ON @schema@.events (ts, pos) WHERE status = 'pending';
CREATE INDEX events_failed_due ON @schema@.events (ts, pos) WHERE status = 'failed';
CREATE INDEX events_processing_due ON @schema@.events (ts, pos) WHERE status = 'processing';
-- claim: the unfinished events of each row in row order (its head first)
CREATE INDEX events_row_unfinished ON @schema@.events (entity, entity_id, client_id, seq, ts, id)
  WHERE status IN ('pending', 'processing', 'failed');
-- list pages
CREATE INDEX events_list ON @schema@.events (ts, pos);

CREATE TABLE @schema@.history (
  hid         bigserial PRIMARY KEY,
  event_id    text COLLATE "C" NOT NULL,
  at          double precision NOT NULL,
  from_status text,
  to_status   text NOT NULL,
  note        text
);
CREATE INDEX history_event ON @schema@.history (event_id, hid);
