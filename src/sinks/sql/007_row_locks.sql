-- Row locks instead of 1024 lock buckets. apply_batch hashes each row key into `lock_buckets`
-- advisory locks; with 1024 buckets two 1000-row batches share a bucket almost always (about 600
-- buckets each), so concurrent drains of different rows waited for each other's commit: two
-- daemons on one queue took turns. With the whole 31-bit hash range a bucket is in effect one
-- row (two disjoint 1000-row batches collide with probability ~0.05%), at the same lock count per
-- batch: one advisory lock per distinct row, as with 1024 buckets a batch of up to a few hundred
-- rows. Lock-table sizing: a transaction holds one lock per row it writes; the server's shared
-- lock table holds max_locks_per_transaction × max_connections (6400 by default), so many
-- concurrent batches of thousands of rows need a larger max_locks_per_transaction, or a lower
-- lock_buckets (fewer, shared locks) or lock_table_above (one table lock per large batch).
-- A value an operator already changed is kept.
UPDATE @schema@.settings
   SET value = '2147483647',
       description = 'row keys hash into this many advisory locks (default: the whole 31-bit range, in effect one lock per row); a batch takes its locks in ascending order; lower it to bound the locks a large batch holds, at the cost of unrelated rows sharing locks'
 WHERE key = 'lock_buckets' AND value = '1024'::jsonb;
