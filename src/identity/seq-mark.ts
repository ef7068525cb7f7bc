/**
 * The highest record `seq` an identity has published: its high-water mark.
 * A node publishes `max(Date.now(), mark + 1)` and saves the mark before
 * sending, so a clock that once ran fast (or is set back) never makes it
 * publish a seq that registries holding its newer record would refuse.
 */
export interface SeqMark {
  /** The saved mark, 0 if none. */
  load(): Promise<number>
  /** Saves `seq` as the mark if it is higher than the saved one; resolves once it is durable. */
  save(seq: number): Promise<void>
}

/** A mark kept in memory only (a node without a data directory). */
export class MemorySeqMark implements SeqMark {
  private mark = 0

  async load (): Promise<number> {
    return this.mark
  }

  async save (seq: number): Promise<void> {
    this.mark = Math.max(this.mark, seq)
  }
}
