import { raceSignal } from 'race-signal'
import type { Stream } from '@libp2p/interface'

/**
 * Writes a channel's frames to its stream one at a time, in call order, each
 * only once the stream can take it: while `stream.writableNeedsDrain` is set
 * (the yamux send window is used up, or the connection's socket is full) a
 * write waits for the stream's `drain` event. So a stream never buffers more
 * than about one frame of a channel, and a peer that stops reading stops
 * {@link write} from resolving.
 */
export class FrameWriter {
  private readonly stream: Stream
  private readonly closed: AbortSignal
  /** Settles once every write started so far has settled (never rejects). */
  private tail: Promise<void> = Promise.resolve()

  /** `closed` aborts when the channel closes; waiting writes then reject with its reason. */
  constructor (stream: Stream, closed: AbortSignal) {
    this.stream = stream
    this.closed = closed
  }

  /**
   * Hands `frame` to the stream after every earlier frame, once the stream
   * can take it. Rejects with `signal`'s reason if it aborts first (the frame
   * is not sent; later frames still wait for earlier ones), with the
   * channel's `closed` reason if the channel closes first, or with what
   * `stream.send()` threw.
   */
  async write (frame: Uint8Array, signal?: AbortSignal): Promise<void> {
    const previous = this.tail
    let done!: () => void
    this.tail = new Promise(resolve => { done = resolve })

    try {
      await raceSignal(previous, signal)

      while (this.stream.writableNeedsDrain) {
        await this.drained(signal)
      }

      this.closed.throwIfAborted()
      this.stream.send(frame)
    } finally {
      // the next write goes only after this one and every earlier one
      void previous.then(done)
    }
  }

  /** Resolves once every write started so far has settled; rejects only if `signal` aborts first. */
  async flushed (signal?: AbortSignal): Promise<void> {
    await raceSignal(this.tail, signal)
  }

  /**
   * Resolves at the stream's next `drain` event. Not `stream.onDrain()`: in
   * @libp2p/utils 7.4 its promise stays resolved after the first drain, so it
   * stops waiting.
   */
  private async drained (signal?: AbortSignal): Promise<void> {
    const signals = signal === undefined ? [this.closed] : [this.closed, signal]

    await new Promise<void>((resolve, reject) => {
      const aborted = signals.find(s => s.aborted)

      if (aborted !== undefined) {
        reject(aborted.reason)
        return
      }

      const settle = (): void => {
        this.stream.removeEventListener('drain', settle)
        signals.forEach(s => { s.removeEventListener('abort', settle) })
        const reason = signals.find(s => s.aborted)
        reason === undefined ? resolve() : reject(reason.reason)
      }

      this.stream.addEventListener('drain', settle)
      signals.forEach(s => { s.addEventListener('abort', settle) })
    })
  }
}
