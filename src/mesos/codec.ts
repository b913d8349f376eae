// Encode/decode Mesos v1 scheduler Calls and Events in protobuf (application/x-protobuf) and JSON
// (application/json). Both decode to ONE in-memory form (see types.ts): snake_case plain objects,
// enums as names, 64-bit ints as numbers, bytes as Buffer. Broken input throws MesosCodecError.
import protobuf from 'protobufjs';
import { messageType } from './proto.js';
import type { Call, Event } from './types.js';

export type WireFormat = 'protobuf' | 'json';

export const CONTENT_TYPES: Readonly<Record<WireFormat, string>> = {
  protobuf: 'application/x-protobuf',
  json: 'application/json',
};

export const CALL_TYPE_NAME = 'mesos.v1.scheduler.Call';
export const EVENT_TYPE_NAME = 'mesos.v1.scheduler.Event';

/** An encoding or decoding failure, with the message type and wire format it happened in. */
export class MesosCodecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MesosCodecError';
  }
}

/** The wire format named by a Content-Type/Accept header value (parameters ignored), or undefined. */
export function formatFromContentType(header: string | undefined): WireFormat | undefined {
  if (!header) return undefined;
  const mediaType = header.split(';')[0]!.trim().toLowerCase();
  if (mediaType === CONTENT_TYPES.protobuf) return 'protobuf';
  if (mediaType === CONTENT_TYPES.json) return 'json';
  return undefined;
}

const TO_PLAIN: protobuf.IConversionOptions = { enums: String, longs: Number, defaults: false };
const TO_JSON: protobuf.IConversionOptions = { enums: String, longs: Number, bytes: String, defaults: false };

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Strict shape check before encoding: catches field-name typos (e.g. camelCase, silently dropped by
 * protobufjs), unknown enum names and wrong value types, naming the path of the bad value.
 */
function checkShape(type: protobuf.Type, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value)) {
    throw new MesosCodecError(`${path}: expected an object for ${type.fullName.slice(1)}`);
  }
  checkRequired(type, value as Record<string, unknown>, path);
  for (const [key, fieldValue] of Object.entries(value as Record<string, unknown>)) {
    if (fieldValue === undefined) continue;
    const field = type.fields[key];
    const at = path ? `${path}.${key}` : key;
    if (!field) throw new MesosCodecError(`${at}: no such field in ${type.fullName.slice(1)}`);
    if (field.repeated) {
      if (!Array.isArray(fieldValue)) throw new MesosCodecError(`${at}: expected an array`);
      fieldValue.forEach((item, i) => checkFieldValue(field, item, `${at}[${i}]`));
    } else {
      checkFieldValue(field, fieldValue, at);
    }
  }
}

function checkRequired(type: protobuf.Type, value: Record<string, unknown>, path: string): void {
  for (const field of type.fieldsArray) {
    if (field.required && (value[field.name] === undefined || value[field.name] === null)) {
      throw new MesosCodecError(`${path ? `${path}.` : ''}${field.name}: missing required field of ${type.fullName.slice(1)}`);
    }
  }
}

/**
 * Required-field check of decoded JSON (protobufjs' verify does not check presence). Lenient otherwise:
 * unknown fields from a newer Mesos are ignored.
 */
function checkJsonRequired(type: protobuf.Type, value: unknown, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return; // fromObject reports these
  const obj = value as Record<string, unknown>;
  checkRequired(type, obj, path);
  for (const field of type.fieldsArray) {
    const fieldValue = obj[field.name];
    const resolved = field.resolve().resolvedType;
    if (fieldValue === undefined || !(resolved instanceof protobuf.Type)) continue;
    const at = path ? `${path}.${field.name}` : field.name;
    if (field.repeated && Array.isArray(fieldValue)) {
      fieldValue.forEach((item, i) => checkJsonRequired(resolved, item, `${at}[${i}]`));
    } else {
      checkJsonRequired(resolved, fieldValue, at);
    }
  }
}

function checkFieldValue(field: protobuf.Field, value: unknown, at: string): void {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return checkShape(resolved, value, at);
  if (resolved instanceof protobuf.Enum) {
    const known = typeof value === 'string' ? value in resolved.values
      : typeof value === 'number' ? resolved.valuesById[value] !== undefined : false;
    if (!known) {
      throw new MesosCodecError(`${at}: ${JSON.stringify(value)} is not a ${resolved.fullName.slice(1)} value`);
    }
    return;
  }
  const ok = (() => {
    switch (field.type) {
      case 'string': return typeof value === 'string';
      case 'bool': return typeof value === 'boolean';
      case 'bytes': return value instanceof Uint8Array || typeof value === 'string';
      case 'double': case 'float': return typeof value === 'number';
      default: // integer types
        return (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint'
          || (typeof value === 'string' && /^-?\d+$/.test(value));
    }
  })();
  if (!ok) throw new MesosCodecError(`${at}: ${JSON.stringify(value)} is not a valid ${field.type}`);
}

/** Encode a plain message object of the named type in the given wire format. */
export function encodeMessage(typeName: string, value: object, format: WireFormat): Buffer {
  const type = messageType(typeName);
  try {
    checkShape(type, value, '');
    const message = type.fromObject(value as Record<string, unknown>);
    const problem = type.verify(message);
    if (problem) throw new MesosCodecError(problem);
    if (format === 'json') return Buffer.from(JSON.stringify(type.toObject(message, TO_JSON)));
    return Buffer.from(type.encode(message).finish());
  } catch (err) {
    throw new MesosCodecError(`cannot encode ${typeName} as ${format}: ${describe(err)}`, { cause: err });
  }
}

/** Decode bytes of the named type from the given wire format into the in-memory form. */
export function decodeMessage<T = Record<string, unknown>>(typeName: string, bytes: Uint8Array, format: WireFormat): T {
  const type = messageType(typeName);
  try {
    if (format === 'json') return decodeJson(type, bytes) as T;
    return type.toObject(type.decode(bytes), TO_PLAIN) as T;
  } catch (err) {
    throw new MesosCodecError(
      `cannot decode ${typeName} from ${format} (${bytes.length} bytes): ${describe(err)}`, { cause: err });
  }
}

function decodeJson(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new MesosCodecError(`invalid JSON: ${describe(err)}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new MesosCodecError('expected a JSON object');
  checkJsonRequired(type, raw, '');
  const message = type.fromObject(raw as Record<string, unknown>);
  const problem = type.verify(message);
  if (problem) throw new MesosCodecError(problem);
  return type.toObject(message, TO_PLAIN);
}

/** Keep an unknown top-level `type` visible (as a string) instead of losing it. */
function keepUnknownType(decoded: Record<string, unknown>, bytes: Uint8Array, format: WireFormat): void {
  if (typeof decoded.type === 'number') {
    decoded.type = String(decoded.type);
  } else if (decoded.type === undefined && format === 'json') {
    const raw = JSON.parse(Buffer.from(bytes).toString('utf8')) as { type?: unknown };
    if (typeof raw.type === 'string' || typeof raw.type === 'number') decoded.type = String(raw.type);
  }
}

export function encodeCall(call: Call, format: WireFormat): Buffer {
  return encodeMessage(CALL_TYPE_NAME, call, format);
}

export function decodeCall(bytes: Uint8Array, format: WireFormat): Call {
  const decoded = decodeMessage<Record<string, unknown>>(CALL_TYPE_NAME, bytes, format);
  keepUnknownType(decoded, bytes, format);
  return decoded as unknown as Call;
}

export function encodeEvent(event: Event, format: WireFormat): Buffer {
  return encodeMessage(EVENT_TYPE_NAME, event, format);
}

export function decodeEvent(bytes: Uint8Array, format: WireFormat): Event {
  const decoded = decodeMessage<Record<string, unknown>>(EVENT_TYPE_NAME, bytes, format);
  keepUnknownType(decoded, bytes, format);
  return decoded as unknown as Event;
}
