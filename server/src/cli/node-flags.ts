// The Node.js flags the server runs with (npm scripts, benchmarks and test processes start it the same way), and a check that they were given.
/**
 * A 64 MB young generation semi-space (V8's default is 16 MB). Under a sustained order stream the default scavenged
 * every ≈ 90 ms and each scavenge copied the objects of every order still in flight, ≈ 17 % of the event loop at 5,000
 * orders/s on 2 cores; with 64 MB it scavenges ≈ 4× less often for the same pause: ≈ 2–6 % (bench/results/ingest.md).
 * V8 sizes its heap when the process starts, so this can only be a command-line flag (or NODE_OPTIONS).
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

/** Whether this process runs with the flags above (on its command line or in NODE_OPTIONS). */
export function serverNodeFlagsGiven(): boolean {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  return SERVER_NODE_FLAGS.every((flag) => given.includes(flag));
}
