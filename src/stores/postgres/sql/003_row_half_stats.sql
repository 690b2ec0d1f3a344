-- The one-statement drain (one-statement/one-statement-sql.ts) splits the rows into two halves by a hash of the row
-- key, hashtext(entity || ':' || entity_id) & 1, and locks the oldest due pending events of one
-- half. Without statistics on that expression the planner cannot tell how many pending events
-- match (for an equality it assumes 0.5%) and expects to walk most of the pending index to fill its
-- window, so it read every pending event of the half and sorted them (with the filter as an
-- equality, a sequential scan of the whole queue and a sort). Statistics on the expression tell it that half of the events match: the window
-- becomes an ordered scan of the pending index that stops once it is full, whatever the queue's
-- length.
CREATE STATISTICS @schema@.events_row_half ON ((hashtext(entity || ':' || entity_id) & 1)) FROM @schema@.events;
ANALYZE @schema@.events;
