/** The fleet API's pure parts: JSON shapes, request decoding, and the listeners' configuration. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadApiConfig } from '../../api/config';
import { decodeJson, parseMachineMetadataOps, parseUnitPutBody } from '../../api/fleet/requests';
import { fleetMachineOf, fleetUnitOf, fleetUnitStateOf } from '../../api/fleet/schema';
import { fleetErrorBody } from '../../api/fleet/errors';
import { errorText, NotFoundError, ValidationError } from '../../common/errors';
import type { UnitRecord } from '../../units/scheduler/model';
import { parseUnitFile, unitHash } from '../../units/unit-file';
import { unitRecord } from '../support/unit-records';

const UNIT_TEXT = '[Service]\nExecStart=/usr/bin/docker run --name web boatload/base:latest\n';
const options = parseUnitFile(UNIT_TEXT);
const record = (patch: Partial<UnitRecord> = {}): UnitRecord => unitRecord('web.service', UNIT_TEXT, patch);
const running = { status: 'running' as const, exitCode: null, error: null, observedAt: '2026-01-01T00:00:00.000Z' };

describe('fleetUnitOf', () => {
  test('leaves out empty fields', () => {
    expect(fleetUnitOf(record())).toEqual({ name: 'web.service', options, desiredState: 'inactive', currentState: 'inactive' });
    expect(fleetUnitOf(record({ options: [] }))).toEqual({ name: 'web.service', desiredState: 'inactive', currentState: 'inactive' });
  });

  test('carries the machine and BoatLoad\'s reason', () => {
    expect(fleetUnitOf(record({ desiredState: 'launched', currentState: 'launched', machineId: 'm1', reason: 'boom' }))).toEqual({
      name: 'web.service', options, desiredState: 'launched', currentState: 'launched', machineID: 'm1', reason: 'boom',
    });
  });

  test('a Global unit has no currentState nor machineID', () => {
    const global = parseUnitFile('[Service]\nExecStart=/usr/bin/docker run x\n[X-Fleet]\nGlobal=yes\n');
    expect(fleetUnitOf(record({ options: global, currentState: 'launched', desiredState: 'launched', machineId: 'm1' }))).toEqual({ name: 'web.service', options: global, desiredState: 'launched' });
  });
});

describe('fleetUnitStateOf', () => {
  test('null for a unit without systemd state', () => {
    expect(fleetUnitStateOf(record())).toBeNull();
  });

  test('the systemd states, hash and machine of a running unit', () => {
    expect(fleetUnitStateOf(record({ desiredState: 'launched', currentState: 'launched', machineId: 'm1', observed: running }))).toEqual({
      name: 'web.service', hash: unitHash(options), machineID: 'm1', systemdLoadState: 'loaded', systemdActiveState: 'active', systemdSubState: 'running',
    });
  });
});

test('fleetMachineOf leaves out empty metadata', () => {
  expect(fleetMachineOf({ id: 'm1', primaryIP: '10.0.0.1', metadata: {} })).toEqual({ id: 'm1', primaryIP: '10.0.0.1' });
  expect(fleetMachineOf({ id: 'm1', primaryIP: '', metadata: { a: 'b' } })).toEqual({ id: 'm1', metadata: { a: 'b' } });
});

describe('request decoding', () => {
  test('a Unit body: unknown fields ignored, missing option fields empty, null options none', () => {
    expect(parseUnitPutBody({ name: 'a.service', desiredState: 'loaded', currentState: 'x', options: [{ section: 'S', name: 'N' }] })).toEqual({
      name: 'a.service', desiredState: 'loaded', options: [{ section: 'S', name: 'N', value: '' }],
    });
    expect(parseUnitPutBody({ options: null })).toEqual({});
    expect(() => parseUnitPutBody(null)).toThrow('unable to decode body: expected a JSON object (a Unit)');
    expect(() => parseUnitPutBody({ options: [1] })).toThrow('unable to decode body: options[0] must be an object');
    expect(() => decodeJson('{')).toThrow(/^unable to decode body: /);
  });

  test('metadata operations', () => {
    expect(parseMachineMetadataOps([
      { op: 'add', path: '/m1/metadata/disk', value: { value: 'ssd' } },
      { op: 'replace', path: '/m1/metadata/disk', value: 'nvme' },
      { op: 'remove', path: '/m1/metadata/disk' },
    ])).toEqual([
      { op: 'add', machineId: 'm1', key: 'disk', value: 'ssd' },
      { op: 'replace', machineId: 'm1', key: 'disk', value: 'nvme' },
      { op: 'remove', machineId: 'm1', key: 'disk', value: null },
    ]);
    expect(() => parseMachineMetadataOps([{ op: 'add', path: '/m1/metadata/k', value: { value: 'a\nb' } }])).toThrow(/no control characters/);
    expect(() => parseMachineMetadataOps([{ op: 'add', path: '/m1/metadata/k/x', value: { value: 'a' } }])).toThrow(/path invalid/);
  });
});

test('errors become fleet bodies, DRF field errors joined', () => {
  expect(fleetErrorBody(new NotFoundError('unit does not exist'))).toEqual({ error: { code: 404, message: 'unit does not exist' } });
  expect(errorText(new ValidationError({ a: ['x', 'y'], b: ['z'] }))).toBe('a: x y; b: z');
});

describe('configuration of the fleet listeners', () => {
  const base = { SATELLITE_URL: 'http://127.0.0.1:8001', SATELLITE_SECRET: 'x'.repeat(32) };
  const fleet = (env: Record<string, string>, isRoot = false) => loadApiConfig({ ...base, ...env }, { isRoot }).fleet;
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'boatload-fleet-config-'));
    for (const name of ['cert.pem', 'key.pem', 'ca.pem']) writeFileSync(join(dir, name), 'pem');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('socket: /var/run/fleet.sock by default only for root; a path; off', () => {
    expect(fleet({}, true).socketPath).toBe('/var/run/fleet.sock');
    expect(fleet({}, false).socketPath).toBeNull();
    expect(fleet({ BOATLOAD_FLEET_SOCKET: 'off' }, true).socketPath).toBeNull();
    expect(fleet({ BOATLOAD_FLEET_SOCKET: '/run/b/fleet.sock' }, false).socketPath).toBe('/run/b/fleet.sock');
    expect(() => fleet({ BOATLOAD_FLEET_SOCKET: 'fleet.sock' })).toThrow(new ConfigError('BOATLOAD_FLEET_SOCKET must be an absolute path or "off", got "fleet.sock"'));
    expect(() => fleet({ BOATLOAD_FLEET_SOCKET: `/${'x'.repeat(200)}` })).toThrow(/at most 103 bytes/);
  });

  test('TLS: off by default; all of port, cert, key and CA, readable', () => {
    expect(fleet({}).tls).toBeNull();
    const files = { BOATLOAD_FLEET_TLS_CERT: join(dir, 'cert.pem'), BOATLOAD_FLEET_TLS_KEY: join(dir, 'key.pem'), BOATLOAD_FLEET_TLS_CA: join(dir, 'ca.pem') };
    expect(fleet({ BOATLOAD_FLEET_TLS_PORT: '8443', ...files }).tls).toEqual({ host: '127.0.0.1', port: 8443, certFile: files.BOATLOAD_FLEET_TLS_CERT, keyFile: files.BOATLOAD_FLEET_TLS_KEY, caFile: files.BOATLOAD_FLEET_TLS_CA });
    expect(fleet({ BOATLOAD_FLEET_TLS_PORT: '8443', BOATLOAD_FLEET_TLS_HOST: '0.0.0.0', ...files }).tls?.host).toBe('0.0.0.0');
    expect(() => fleet({ BOATLOAD_FLEET_TLS_PORT: '8443' })).toThrow('BOATLOAD_FLEET_TLS_CERT is required when BOATLOAD_FLEET_TLS_PORT is set');
    expect(() => fleet({ BOATLOAD_FLEET_TLS_PORT: '8443', ...files, BOATLOAD_FLEET_TLS_CA: join(dir, 'missing.pem') })).toThrow(/BOATLOAD_FLEET_TLS_CA must name a readable PEM file/);
    expect(() => fleet({ BOATLOAD_FLEET_TLS_PORT: '70000', ...files })).toThrow(/BOATLOAD_FLEET_TLS_PORT must be a port number/);
    expect(() => fleet({ BOATLOAD_FLEET_TLS_PORT: 'https', ...files })).toThrow(/BOATLOAD_FLEET_TLS_PORT must be a whole number/);
    expect(() => fleet({ BOATLOAD_FLEET_TLS_CERT: files.BOATLOAD_FLEET_TLS_CERT })).toThrow('BOATLOAD_FLEET_TLS_CERT is set but BOATLOAD_FLEET_TLS_PORT is not');
  });
});
