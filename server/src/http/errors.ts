// HTTP error type and the Express error middleware: every failure leaves as JSON with a code, never a stack trace.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ErrorCode, type FieldError, type WireError } from '@gridmesh/contracts-abi';

export class HttpError extends Error {
  constructor(readonly status: number, readonly body: WireError) {
    super(body.message);
  }
  static badRequest(message: string, fields?: FieldError[], code: ErrorCode = ErrorCode.VALIDATION) {
    return new HttpError(400, { code, message, ...(fields ? { fields } : {}) });
  }
  static fromWire(status: number, error: WireError) {
    return new HttpError(status, error);
  }
}

/** The 400 answer to a body that is not JSON (or, as express.json's strict mode, not an object or array). */
export const INVALID_JSON_BODY = { code: ErrorCode.VALIDATION, message: 'request body is not valid JSON', fields: [{ field: '/', message: 'is not valid JSON' }] };

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ code: ErrorCode.NOT_FOUND, message: `no route ${req.method} ${req.path}` });
};

export function errorHandler(log: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    if (err instanceof HttpError) {
      res.status(err.status).json(err.body);
      return;
    }
    const e = err as { type?: string; status?: number; message?: string };
    // body-parser failures: malformed JSON or an oversized body are the client's fault.
    if (e.type === 'entity.parse.failed') {
      res.status(400).json(INVALID_JSON_BODY);
      return;
    }
    if (e.type === 'entity.too.large') {
      res.status(413).json({ code: ErrorCode.VALIDATION, message: 'request body is too large' });
      return;
    }
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ code: ErrorCode.VALIDATION, message: e.message ?? 'bad request' });
      return;
    }
    log(err);
    res.status(500).json({ code: ErrorCode.INTERNAL, message: 'internal error' });
  };
}
