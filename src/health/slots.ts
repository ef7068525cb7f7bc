/** A counting semaphore whose waiters give up with their signal. */
export class Slots {
  readonly size: number
  private used = 0
  private readonly waiting: Array<() => void> = []

  constructor (size: number) {
    this.size = size
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  async acquire (signal: AbortSignal & { clear?(): void }): Promise<() => void> {
    try {
      signal.throwIfAborted()

      if (this.used >= this.size) {
        await new Promise<void>((resolve, reject) => {
          const ready = (): void => {
            signal.removeEventListener('abort', aborted)
            resolve()
          }
          const aborted = (): void => {
            this.waiting.splice(this.waiting.indexOf(ready), 1)
            reject(signal.reason)
          }
          this.waiting.push(ready)
          signal.addEventListener('abort', aborted, { once: true })
        })
      } else {
        this.used++
      }
    } finally {
      signal.clear?.()
    }

    let released = false
    return () => {
      if (released) {
        return
      }

      released = true
      const next = this.waiting.shift()

      if (next !== undefined) {
        next() // the slot passes straight to the next waiter
      } else {
        this.used--
      }
    }
  }
}
