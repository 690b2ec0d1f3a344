/**
 * Tables of the built-in entities, as the migrations create them (and the `entities` registry
 * table lists them). Supabase Realtime names changes by table, so its feed maps them back here;
 * entities added with register_entity are passed to the feed explicitly.
 */
export const BUILTIN_ENTITY_TABLES: Readonly<Record<string, string>> = Object.freeze({
  chart_data_source: "charts",
  well: "wells",
  polygon: "polygons",
  curve: "curves",
});
