// A millisecond clock for the L1 hit path: reading the system clock costs as much as the rest of an L1
// hit on some machines, so hot reads use a value refreshed every millisecond (and every 64 reads).

let current = Date.now()
let timer: NodeJS.Timeout | undefined
let readsSinceTick = 0
let idleTicks = 0

/** Ticks without reads after which the timer stops (it restarts on the next read). */
const IDLE_TICKS = 1000

function tick(): void {
  current = Date.now()
  if (readsSinceTick === 0) {
    if (++idleTicks >= IDLE_TICKS) {
      clearInterval(timer)
      timer = undefined
    }
  } else idleTicks = 0
  readsSinceTick = 0
}

/**
 * Milliseconds since the epoch, at most about a millisecond old while reads are frequent. Event-loop
 * stalls delay the timer, so every 64th read takes the real time as well.
 */
export function coarseNow(): number {
  if (timer === undefined) {
    current = Date.now()
    idleTicks = 0
    timer = setInterval(tick, 1)
    timer.unref()
  }
  if ((++readsSinceTick & 63) === 0) current = Date.now()
  return current
}
