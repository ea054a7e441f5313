/**
 * Decoding fleet request bodies the way fleet's Go decoder reads them: unknown fields are
 * ignored, a field of the wrong type is a 400 ("unable to decode body").
 */
import { BadRequestError } from '../../common/errors';
import type { UnitOption } from '../../units/unit-file';

/** A PUT /units/{name} body; every field optional. */
export interface UnitPutBody {
  name?: string;
  options?: UnitOption[];
  desiredState?: string;
}

/** One PATCH /machines operation, checked. */
export interface MachineMetadataOp {
  op: 'add' | 'remove' | 'replace';
  machineId: string;
  key: string;
  /** null for `remove`. */
  value: string | null;
}

const undecodable = (why: string): BadRequestError => new BadRequestError(`unable to decode body: ${why}`);

/** Parses JSON text; a syntax error is a 400. */
export function decodeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw undecodable((err as Error).message);
  }
}

function optionalString(record: Record<string, unknown>, key: string, where: string): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw undecodable(`${where}${key} must be a string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseUnitPutBody(json: unknown): UnitPutBody {
  if (!isRecord(json)) throw undecodable('expected a JSON object (a Unit)');
  const body: UnitPutBody = {};
  const name = optionalString(json, 'name', '');
  if (name !== undefined) body.name = name;
  const desiredState = optionalString(json, 'desiredState', '');
  if (desiredState !== undefined) body.desiredState = desiredState;
  const options = json.options;
  if (options !== undefined && options !== null) {
    if (!Array.isArray(options)) throw undecodable('options must be a list of {section, name, value}');
    body.options = options.map((option: unknown, index) => {
      if (!isRecord(option)) throw undecodable(`options[${index}] must be an object`);
      const where = `options[${index}].`;
      return {
        section: optionalString(option, 'section', where) ?? '',
        name: optionalString(option, 'name', where) ?? '',
        value: optionalString(option, 'value', where) ?? '',
      };
    });
  }
  return body;
}

const METADATA_PATH = /^\/([^/]+)\/metadata\/([A-Za-z0-9_.-]+)$/;
const MAX_METADATA_VALUE_LENGTH = 1024;
// C0 controls, DEL and C1 controls.
const CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f]/;

/** The value of an add/replace: `{"value": "v"}` as fleet documents it (a bare string is accepted too). */
function metadataValue(raw: unknown, index: number): string {
  const value = isRecord(raw) ? raw.value : raw;
  if (typeof value !== 'string' || value === '') {
    throw new BadRequestError(`invalid value in operation ${index}: add and replace require a value`);
  }
  if (value.length > MAX_METADATA_VALUE_LENGTH || CONTROL_CHAR.test(value)) {
    throw new BadRequestError(`invalid value in operation ${index}: at most ${MAX_METADATA_VALUE_LENGTH} characters, no control characters`);
  }
  return value;
}

/**
 * PATCH /machines: a list of `{"op": "add"|"remove"|"replace", "path": "/<machineID>/metadata/<key>",
 * "value": {"value": "v"}}`. Every operation is checked before any is applied.
 */
export function parseMachineMetadataOps(json: unknown): MachineMetadataOp[] {
  if (!Array.isArray(json)) throw undecodable('expected a list of operations');
  return json.map((raw: unknown, index) => {
    if (!isRecord(raw)) throw undecodable(`operation ${index} must be an object`);
    const op = raw.op;
    if (op !== 'add' && op !== 'remove' && op !== 'replace') {
      throw new BadRequestError(`invalid op in operation ${index}: expect add, remove, or replace`);
    }
    const path = typeof raw.path === 'string' ? METADATA_PATH.exec(raw.path) : null;
    if (!path) throw new BadRequestError(`machine metadata path invalid in operation ${index}: expect /<machineID>/metadata/<key>`);
    return { op, machineId: path[1], key: path[2], value: op === 'remove' ? null : metadataValue(raw.value, index) };
  });
}
