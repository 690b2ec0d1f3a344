/**
 * The events a finding concerns, kept flat in memory: the first `cap` ids in the order they were
 * offered (copied, so that an id cut from a read block does not keep the block alive), and a
 * count of all of them.
 */
import { ownString } from "../io/own-string.ts";

export class IdSample {
  readonly ids: string[] = [];
  count = 0;

  constructor(private readonly cap: number) {}

  add(id: string): void {
    this.count++;
    if (this.ids.length < this.cap) this.ids.push(ownString(id));
  }

  /** How many events are not listed. */
  get more(): number {
    return this.count - this.ids.length;
  }
}
