// Compiles the wire schemas once with ajv (draft 2020-12) and turns ajv errors into field-level wire errors.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { wireSchemas } from './schemas/messages.ts';
import { ErrorCode, type FieldError, type WireError } from './errors.ts';

export const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
for (const schema of wireSchemas) ajv.addSchema(schema);

export type SchemaName =
  | 'SignedMeterReading' | 'ReadingBatch' | 'BridgeHello' | 'BridgeStatus' | 'Dispatch'
  | 'ParticipantRegistration' | 'MeterRegistration' | 'OrderSubmission' | 'OrderCancel'
  | 'MarketSubscribe' | 'LivePower' | 'BookSnapshot' | 'Trade' | (string & {});

const cache = new Map<string, ValidateFunction>();
export function validatorFor(name: SchemaName): ValidateFunction {
  const cached = cache.get(name);
  if (cached) return cached;
  const found = ajv.getSchema(`https://gridmesh.dev/schemas/${name}.json`);
  if (!found) throw new Error(`no wire schema named ${name}`);
  cache.set(name, found);
  return found;
}

/** Maps ajv errors to `{ field, message }` with the JSON pointer of the offending field. */
export function fieldErrors(errors: ErrorObject[] | null | undefined): FieldError[] {
  if (!errors) return [];
  return errors.map((e) => {
    let field = e.instancePath || '/';
    if (e.keyword === 'required') field = `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`;
    if (e.keyword === 'additionalProperties') field = `${e.instancePath}/${(e.params as { additionalProperty: string }).additionalProperty}`;
    const message = e.keyword === 'additionalProperties' ? 'is not an allowed field' : e.keyword === 'required' ? 'is required' : e.message ?? 'is invalid';
    return { field, message };
  });
}

export type Validation<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Validates `input` against a named wire schema; the error names every offending field. */
export function validate<T>(name: SchemaName, input: unknown): Validation<T> {
  const fn = validatorFor(name);
  if (fn(input)) return { ok: true, value: input as T };
  const fields = fieldErrors(fn.errors);
  const first = fields[0];
  return {
    ok: false,
    error: {
      code: ErrorCode.VALIDATION,
      message: first ? `${first.field} ${first.message}` : 'invalid message',
      fields,
    },
  };
}
