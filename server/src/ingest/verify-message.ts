// Messages between the verify pool and its worker threads (shared by both sides; no side effects on import).

/** Numbers per reading in `VerifyRequest.numbers`: seq, timestamp, importWh, exportWh, powerW, flags. */
export const NUMBERS_PER_READING = 6;

/**
 * One batch in a compact form: cloning one Float64Array (transferred) and two string arrays is much cheaper on both
 * threads than cloning an object per reading. `meters[i]` is the meter of reading i (usually one meter per batch).
 */
export interface VerifyRequest { id: number; meters: string[]; numbers: Float64Array; signatures: string[] }
/** Per reading: 0 ok, 1 bad signature, 2 wrong signer. */
export interface VerifyResponse { id: number; outcomes: Uint8Array }
