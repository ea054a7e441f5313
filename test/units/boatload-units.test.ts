/** BoatLoad's own unit files (units/*.service) parse, pass fleet's checks and describe containers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/project-root';
import { loadApiConfig } from '../../api/config';
import { containerSpecFromUnit } from '../../units/container-unit';
import { readFleetRequirements, validateFleetOptions } from '../../units/fleet-options';
import { parseUnitFile } from '../../units/unit-file';
import { unitNameProblem } from '../../units/unit-name';
import { STRICT_UNIT_POLICY, unitPolicyProblem, type UnitPolicy } from '../../units/unit-policy';

const load = (name: string) => {
  const options = parseUnitFile(readFileSync(join(projectRoot(), 'units', name), 'utf8'));
  return { options, spec: containerSpecFromUnit(options, name), requirements: readFleetRequirements(options, name) };
};

const UNITS = ['api.service', 'satellite.service', 'satellite-discovery.service', 'proxy.service'];

describe.each(UNITS)('units/%s', (name) => {
  test('is a valid fleet unit that describes one container', () => {
    expect(unitNameProblem(name)).toBeNull();
    const { options, spec } = load(name);
    expect(validateFleetOptions(options, name)).toBeNull();
    expect(spec.name).toBe(`boatload-${name.replace('.service', '')}`);
    expect(spec.restart).not.toBe('no');
    expect(spec.network).toBe('host');
  });
});

describe('what each unit runs', () => {
  test('api.service runs boatload/api with its store, the secret and the fleet socket directory', () => {
    const { spec, requirements } = load('api.service');
    expect(spec.image).toBe('boatload/api:latest');
    expect(spec.restart).toBe('always');
    expect(spec.env).toMatchObject({ SATELLITE_URL: 'http://127.0.0.1:8001', BOATLOAD_FLEET_SOCKET: '/var/run/boatload/fleet.sock', BOATLOAD_DATA_DIR: '/var/lib/boatload' });
    expect(spec.volumes).toEqual(
      expect.arrayContaining([
        { source: 'boatload-data', target: '/var/lib/boatload', readonly: false },
        { source: '/var/run/boatload', target: '/var/run/boatload', readonly: false },
        { source: '/etc/boatload', target: '/etc/boatload', readonly: true },
      ]),
    );
    expect(requirements.global).toBe(false);
  });

  test('satellite.service is Global, runs boatload/satellite and mounts the Docker socket', () => {
    const { spec, requirements } = load('satellite.service');
    expect(requirements.global).toBe(true);
    expect(spec.image).toBe('boatload/satellite:latest');
    expect(spec.volumes).toContainEqual({ source: '/var/run/docker.sock', target: '/var/run/docker.sock', readonly: false });
    expect(spec.env).toMatchObject({ SATELLITE_HOST: '0.0.0.0', SATELLITE_PORT: '8001', SATELLITE_SECRET_FILE: '/etc/boatload/satellite.secret' });
  });

  test('satellite-discovery.service is Global and watches the satellite of its machine', () => {
    const { spec, requirements } = load('satellite-discovery.service');
    expect(requirements.global).toBe(true);
    expect(spec.image).toBe('boatload/satellite:latest');
    expect(spec.entrypoint).toEqual(['/bin/sh']);
    expect(spec.cmd?.[1]).toContain('http://127.0.0.1:8001/health');
    expect(spec.restart).toBe('on-failure');
  });

  test('proxy.service is a placeholder on the machine of api.service', () => {
    const { spec, requirements } = load('proxy.service');
    expect(spec.image).toBe('boatload/proxy:latest');
    expect(requirements.machineOf).toEqual(['api.service']);
  });
});

describe('deployed under the unit policy the README documents', () => {
  /** The policy settings exactly as README.md's "BoatLoad's own units" writes them, read by the API's config. */
  const documented = (): { env: Record<string, string>; policy: UnitPolicy } => {
    const readme = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
    const env: Record<string, string> = {};
    for (const match of readme.matchAll(/^(BOATLOAD_UNIT_ALLOW_HOST_(?:PATHS|NETWORK))=(\S+)$/gm)) env[match[1]] = match[2];
    const policy = loadApiConfig({ SATELLITE_URL: 'http://127.0.0.1:8001', SATELLITE_SECRET: 'x'.repeat(32), ...env }, { isRoot: false }).unitPolicy;
    return { env, policy };
  };
  const problems = (policy: UnitPolicy): Array<string | null> => UNITS.map((name) => unitPolicyProblem(load(name).spec, policy));

  test('the README names both settings', () => {
    expect(documented().env).toEqual({
      BOATLOAD_UNIT_ALLOW_HOST_PATHS: '/var/run/docker.sock,/etc/boatload,/var/run/boatload',
      BOATLOAD_UNIT_ALLOW_HOST_NETWORK: 'true',
    });
  });

  test('every unit passes under it', () => {
    expect(problems(documented().policy)).toEqual(UNITS.map(() => null));
  });

  test('without it every unit is refused (all use the host network)', () => {
    const refused = problems(STRICT_UNIT_POLICY);
    expect(refused.every((problem) => problem !== null)).toBe(true);
    expect(unitPolicyProblem(load('satellite.service').spec, STRICT_UNIT_POLICY)).toContain('-v /var/run/docker.sock:/var/run/docker.sock');
    expect(unitPolicyProblem(load('proxy.service').spec, STRICT_UNIT_POLICY)).toContain('--network host');
  });

  test('it allows exactly what they need: without any one of its paths, or the network, a unit is refused', () => {
    const { policy } = documented();
    for (const path of policy.hostPaths) {
      const fewer = { ...policy, hostPaths: policy.hostPaths.filter((p) => p !== path) };
      expect(problems(fewer).some((problem) => problem?.includes(`host path "${path}"`))).toBe(true);
    }
    expect(problems({ ...policy, hostNetwork: false }).every((problem) => problem?.includes('--network host'))).toBe(true);
  });
});
