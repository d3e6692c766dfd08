// The Node.js flags the server runs with (npm scripts, benchmarks and test processes start it the same way), and a check that they were given.
/**
 * - `--max-semi-space-size=64`: a 64 MB young generation semi-space (V8's default is 16 MB). Under a sustained order
 *   stream the default scavenged every ≈ 90 ms and each scavenge copied the objects of every order still in flight,
 *   ≈ 17 % of the event loop at 5,000 orders/s on 2 cores; with 64 MB it scavenges ≈ 4× less often for the same pause:
 *   ≈ 2–6 %.
 * - `--initial-old-space-size=1024`: no full (mark-compact) collection before the old generation holds 1 GB, and V8
 *   keeps that size as the floor of its limit after each one. By default a full collection ran every 5–7 s at
 *   5,000 orders/s (the old generation collected at ≈ 150 MB, ≈ 56 MB live). Each one, with its concurrent marking
 *   on the same 2 cores, set off a 250–750 ms episode in which nearly every order was late (worst 150–260 ms): the
 *   order tail. With the floor, a 40 s open loop at 3,000 orders/s ran with no full collection and p99 36–50 ms
 *   instead of 94–107. The price is a heap that may grow to ≈ 1 GB under load before it is collected. V8 caps the
 *   floor at half its heap limit, and that limit follows the machine's (or the container's) memory.
 *
 * Figures: bench/results/ingest.md. V8 sizes its heap when the process starts, so these can only be command-line
 * flags (or NODE_OPTIONS).
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64', '--initial-old-space-size=1024'] as const;

/** Whether this process runs with the flags above (on its command line or in NODE_OPTIONS). */
export function serverNodeFlagsGiven(): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return SERVER_NODE_FLAGS.every((flag) => given.includes(flag));
}
