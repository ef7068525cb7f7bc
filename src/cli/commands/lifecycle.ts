/** Helpers shared by the long-running commands. */

/** Resolves when `signal` aborts (SIGINT/SIGTERM in the real process). */
export async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    return
  }

  await new Promise<void>(resolve => {
    signal.addEventListener('abort', () => { resolve() }, { once: true })
  })
}
