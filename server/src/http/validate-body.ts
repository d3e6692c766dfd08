// Express middleware that checks a request body against a named wire schema (ajv) and answers 400 naming each field.
import type { RequestHandler } from 'express';
import { validate, type SchemaName } from '@gridmesh/contracts-abi';
import { HttpError } from './errors.ts';

export function validateBody(schema: SchemaName): RequestHandler {
  return (req, _res, next) => {
    if (req.body === undefined) {
      next(HttpError.badRequest('request body is required (Content-Type: application/json)', [{ field: '/', message: 'is required' }]));
      return;
    }
    const result = validate(schema, req.body);
    next(result.ok ? undefined : HttpError.fromWire(400, result.error));
  };
}
