/**
 * The keys the browser app gives a server row in its cache (CacheDB) and optimistic state: the
 * queue and the change feed name an entity (`chart_data_source`), the app names what it reads (a
 * chart: `chart:<chartId>`, as in the browser's cache export). Documents keep their entity name
 * (`well:<id>`, `polygon:<id>`, `curve:<id>`), and so does any entity registered later. Keys under
 * a row's key (`chart:<id>:selection`) belong to that row. Every code path that turns a row change
 * into cache keys goes through here.
 */

const APP_PREFIX_OF_ENTITY: ReadonlyMap<string, string> = new Map([
  ["chart_data_source", "chart"],
  ["well", "well"],
  ["polygon", "polygon"],
  ["curve", "curve"],
]);

/** The app's key prefix for an entity (the entity name itself when the app uses no other). */
export function appKeyPrefix(entity: string): string {
  return APP_PREFIX_OF_ENTITY.get(entity) ?? entity;
}

/** The app's cache and optimistic-state key of one row: `<prefix>:<id>`. */
export function rowCacheKey(entity: string, id: string): string {
  return `${appKeyPrefix(entity)}:${id}`;
}
