/**
 * Cache entries of a local store whose HMAC tag does not match (stores/dexie/crypto/cache-tags.ts):
 * their bytes on disk were changed after mudsync wrote them, or, in an encrypted store, their
 * sealed record did not authenticate. The store never serves them (a read is a miss and the row
 * is fetched again), but something wrote to the store's files. Only a local store has a cache;
 * for other sources this check is not made.
 */
import { defineRule, kindOf } from "../rule.ts";

export const alteredCache = defineRule(
  "altered-cache",
  "error",
  "(local store) cache entries whose HMAC tag does not match: altered on disk; never served, fetched again",
  (ctx) => ({
    findings() {
      const c = ctx.cache;
      if (!c || c.altered === 0) return [];
      const more = c.altered - c.alteredKeys.length;
      const dir = ctx.fix.storeDir();
      return [{
        ...kindOf(alteredCache),
        title: `${c.altered} of ${c.entries} cache entries were altered on disk`,
        evidence:
          `cache ${c.altered === 1 ? "entry" : "entries"} ${c.alteredKeys.join(", ")}${more > 0 ? ` and ${more} more` : ""} ` +
          `${c.encrypted ? "did not authenticate or do not match their tag" : "do not match their HMAC tag"}; ` +
          "they are not served (a read fetches the row again) — something other than mudsync wrote to the store's files",
        eventIds: [],
        moreEvents: 0,
        fix: c.encrypted
          ? `mudsync --store ${dir} store rotate-key --new-key-file NEW_KEY_FILE   # the key may be known to whoever wrote the files`
          : `MUDSYNC_KEY_FILE=KEY_FILE mudsync --store ${dir} store encrypt   # seals the store so that changes are told apart from its key holders'`,
      }];
    },
  }),
);
