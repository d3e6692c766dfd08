// Error codes that cross the wire (REST bodies and Socket.IO acks), one vocabulary for every process.
export const ErrorCode = {
  VALIDATION: 'VALIDATION',
  UNKNOWN_METER: 'UNKNOWN_METER',
  UNKNOWN_PARTICIPANT: 'UNKNOWN_PARTICIPANT',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  REPLAYED_SEQ: 'REPLAYED_SEQ',
  COUNTER_DECREASED: 'COUNTER_DECREASED',
  CONFLICT: 'CONFLICT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  RATE_LIMITED: 'RATE_LIMITED',
  ORDER_REJECTED: 'ORDER_REJECTED',
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem with one field, addressed by JSON pointer (e.g. `/readings/3/seq`). */
export interface FieldError {
  field: string;
  message: string;
}

/** The body of every 4xx/5xx response and the `error` of every failed ack. */
export interface WireError {
  code: ErrorCode;
  message: string;
  fields?: FieldError[];
  /** For batch acks: index of the first offending item. */
  index?: number;
  /** Machine-readable refusal reason (e.g. the market engine's `price_out_of_range`), alongside `code`. */
  reason?: string;
}

export interface Ack<T = Record<string, never>> {
  ok: boolean;
  error?: WireError;
  result?: T;
}
