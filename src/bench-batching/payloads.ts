/**
 * Realistic payloads of the seed's entities for generated workloads: chart data-source entries
 * (an AG Grid row of sources) and well/polygon/curve documents of a few hundred bytes, with
 * uuid-like ids. Shared by `mudsync bench batching` and the project's benchmarks (bench/lib).
 */

function hex(rand: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(rand() * 16).toString(16);
  return s;
}

export function uuidLike(rand: () => number): string {
  return `${hex(rand, 8)}-${hex(rand, 4)}-4${hex(rand, 3)}-a${hex(rand, 3)}-${hex(rand, 12)}`;
}

/** A document payload of roughly 250–400 bytes of JSON. */
export function documentPayload(rand: () => number, id: string): Record<string, unknown> {
  return {
    id,
    name: `Doc ${id.slice(0, 8)} – Ölfeld ${Math.floor(rand() * 1000)}`,
    depth: Math.round(rand() * 500000) / 100,
    status: rand() < 0.5 ? "active" : "draft",
    tags: ["survey", rand() < 0.5 ? "north" : "south", `batch-${Math.floor(rand() * 50)}`],
    location: { lat: Math.round((rand() * 180 - 90) * 1e5) / 1e5, lon: Math.round((rand() * 360 - 180) * 1e5) / 1e5 },
    notes: "measured on site; reviewed by field team".slice(0, 20 + Math.floor(rand() * 25)),
  };
}

/** A chart's data-source entry (one selectable grid row); `n` picks the source, random when absent. */
export function chartEntry(rand: () => number, n?: number): Record<string, unknown> {
  return {
    id: `src-${n ?? Math.floor(rand() * 40)}`,
    label: `Source ${n ?? Math.floor(rand() * 40)}`,
    kind: rand() < 0.5 ? "well-log" : "production",
    visible: rand() < 0.8,
    color: `#${hex(rand, 6)}`,
  };
}
