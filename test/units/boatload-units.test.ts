/** BoatLoad's own unit files (units/*.service) parse, pass fleet's checks and describe containers. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/project-root';
import { containerSpecFromUnit } from '../../units/container-unit';
import { readFleetRequirements, validateFleetOptions } from '../../units/fleet-options';
import { parseUnitFile } from '../../units/unit-file';
import { unitNameProblem } from '../../units/unit-name';

const load = (name: string) => {
  const options = parseUnitFile(readFileSync(join(projectRoot(), 'units', name), 'utf8'));
  return { options, spec: containerSpecFromUnit(options, name), requirements: readFleetRequirements(options, name) };
};

describe.each(['api.service', 'satellite.service', 'satellite-discovery.service', 'proxy.service'])('units/%s', (name) => {
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
