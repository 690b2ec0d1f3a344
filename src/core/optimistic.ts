/**
 * Optimistic state per row (`entity:id`): the last state the server confirmed plus a stack of
 * pending local edits, each tied to the event that carries it. The view is always recomputed as
 * confirmed state + remaining edits in the order they were applied, so rolling back one edit keeps
 * the edits made after it (unlike restoring a snapshot taken when the edit was applied).
 *
 * Update functions must not mutate their input: they are re-run whenever the base changes.
 */

export type UpdateFn<T> = (current: T | undefined) => T | undefined;

interface Layer<T> {
  eventId: string;
  fn: UpdateFn<T>;
  committed: boolean;
  /** row version the server reported for this edit, when known */
  appliedVersion?: number;
}

interface Row<T> {
  confirmed: T | undefined;
  version: number | undefined;
  layers: Layer<T>[];
  view: T | undefined;
}

export type ViewListener<T> = (key: string, view: T | undefined) => void;

export class OptimisticStateManager<T = unknown> {
  private readonly rows = new Map<string, Row<T>>();
  private readonly keyOfEvent = new Map<string, string>();
  private readonly listeners = new Set<ViewListener<T>>();

  /** The state to show for a row: confirmed + pending edits. */
  view(key: string): T | undefined {
    return this.rows.get(key)?.view;
  }

  /** The server version the confirmed state of a row is at. */
  confirmedVersion(key: string): number | undefined {
    return this.rows.get(key)?.version;
  }

  /** The state the server last confirmed for a row (the base a three-way merge of a new edit needs). */
  confirmed(key: string): T | undefined {
    return this.rows.get(key)?.confirmed;
  }

  /** Event ids with an edit still layered on the row, in order. */
  pending(key: string): string[] {
    return this.rows.get(key)?.layers.map((l) => l.eventId) ?? [];
  }

  /** Layers an edit on the row and returns the new view. */
  apply(key: string, updateFn: UpdateFn<T>, eventId: string): T | undefined {
    if (this.keyOfEvent.has(eventId)) {
      throw new Error(`optimistic edit for event ${eventId} is already applied`);
    }
    const row = this.row(key);
    row.layers.push({ eventId, fn: updateFn, committed: false });
    this.keyOfEvent.set(eventId, key);
    row.view = updateFn(row.view);
    this.emit(key, row);
    return row.view;
  }

  /**
   * The server applied the event. The view does not change; edits at the bottom of the stack that
   * are all committed fold into the confirmed state. Returns false for an unknown event.
   */
  commit(eventId: string, appliedVersion?: number): boolean {
    const key = this.keyOfEvent.get(eventId);
    const row = key === undefined ? undefined : this.rows.get(key);
    const layer = row?.layers.find((l) => l.eventId === eventId);
    if (!row || !layer) return false;
    layer.committed = true;
    if (appliedVersion !== undefined) layer.appliedVersion = appliedVersion;
    while (row.layers[0]?.committed) {
      const l = row.layers.shift() as Layer<T>;
      row.confirmed = l.fn(row.confirmed);
      if (l.appliedVersion !== undefined) row.version = l.appliedVersion;
      this.keyOfEvent.delete(l.eventId);
    }
    return true;
  }

  /** Undoes one edit: the view becomes confirmed + the remaining edits. False if unknown. */
  rollback(eventId: string): boolean {
    const key = this.keyOfEvent.get(eventId);
    const row = key === undefined ? undefined : this.rows.get(key);
    if (!row || key === undefined) return false;
    row.layers = row.layers.filter((l) => l.eventId !== eventId);
    this.keyOfEvent.delete(eventId);
    this.recompute(key, row);
    return true;
  }

  /**
   * A state the server confirmed (realtime change, fetched row). Ignored if `version` is older than
   * the confirmed one (a late notification). Edits the new state reflects leave the stack: those
   * named in `reflected`, and committed ones whose applied version is ≤ `version` (or unknown).
   * Uncommitted edits stay and are re-applied on top of the new state.
   */
  confirm(key: string, serverState: T | undefined, version: number, reflected: Iterable<string> = []): T | undefined {
    const row = this.row(key);
    if (row.version !== undefined && version < row.version) return row.view;
    const named = new Set(reflected);
    row.confirmed = serverState;
    row.version = version;
    row.layers = row.layers.filter((l) => {
      const keep = !named.has(l.eventId) && !(l.committed && (l.appliedVersion ?? -Infinity) <= version);
      if (!keep) this.keyOfEvent.delete(l.eventId);
      return keep;
    });
    this.recompute(key, row);
    return row.view;
  }

  /** Called with the row's new view whenever it changes. Returns an unsubscribe function. */
  subscribe(listener: ViewListener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private row(key: string): Row<T> {
    let row = this.rows.get(key);
    if (!row) {
      row = { confirmed: undefined, version: undefined, layers: [], view: undefined };
      this.rows.set(key, row);
    }
    return row;
  }

  private recompute(key: string, row: Row<T>): void {
    let v = row.confirmed;
    for (const l of row.layers) v = l.fn(v);
    row.view = v;
    this.emit(key, row);
  }

  private emit(key: string, row: Row<T>): void {
    for (const fn of this.listeners) fn(key, row.view);
  }
}
