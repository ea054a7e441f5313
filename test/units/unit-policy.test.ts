/**
 * The unit policy: a unit's `docker run` may take nothing from its host (host paths, the host's
 * network) unless the administrator allows it, and the flags that reach the host in other ways are
 * refused by the parser, naming the flag.
 */
import { containerSpecFromUnit, UnitSpecError } from '../../units/container-unit';
import { DockerRunError, parseDockerRun } from '../../units/docker-run';
import { parseExecLine } from '../../units/exec-line';
import { parseUnitFile } from '../../units/unit-file';
import { HostPortPolicy } from '../../common/host-ports';
import { hostPathAllowed, normalizeHostPath, STRICT_UNIT_POLICY, unitPolicyProblem, type UnitPolicy } from '../../units/unit-policy';

const spec = (line: string) => parseDockerRun(parseExecLine(`/usr/bin/docker run ${line}`).argv);
const problem = (line: string, policy: UnitPolicy = STRICT_UNIT_POLICY) => unitPolicyProblem(spec(line), policy);
const ALLOW_SRV: UnitPolicy = { hostPaths: ['/srv/data', '/var/log'], hostNetwork: false };

describe('host bind mounts', () => {
  test.each([
    ['-v /:/host img', '-v /:/host', '"/"'],
    ['--volume=/:/host img', '-v /:/host', '"/"'],
    ['-v/:/host img', '-v /:/host', '"/"'],
    ['-dv /etc:/etc:ro img', '-v /etc:/etc', '"/etc"'],
    ['-v /var/run/docker.sock:/var/run/docker.sock img', '-v /var/run/docker.sock:/var/run/docker.sock', '"/var/run/docker.sock"'],
    ['-v //:/host img', '-v //:/host', '"/"'],
    ['-v /etc/../:/host img', '-v /etc/../:/host', '"/"'],
    ['-v data:/data -v /home:/home img', '-v /home:/home', '"/home"'],
  ])('strict: docker run %s is refused, naming the flag', (line, flag, path) => {
    const text = problem(line);
    expect(text).toContain(flag);
    expect(text).toContain(`host path ${path}`);
    expect(text).toContain('BOATLOAD_UNIT_ALLOW_HOST_PATHS');
  });

  test.each([
    ['-v /srv/database:/db img', '/srv/database'],
    ['-v /srv:/srv img', '/srv'],
    ['-v /srv/data/../../etc:/etc img', '/etc'],
    ['-v /srv/data/..:/x img', '/srv'],
    ['-v /var/logs:/x img', '/var/logs'],
    ['-v /:/host img', '/'],
  ])('allowing /srv/data and /var/log: docker run %s is still refused', (line, path) => {
    const text = problem(line, ALLOW_SRV);
    expect(text).toContain(`host path "${path}"`);
    expect(text).toContain('allowed: /srv/data, /var/log');
  });

  test.each([
    '-v /srv/data:/data img',
    '-v /srv/data/:/data img',
    '-v /srv/data/sub/dir:/data:ro img',
    '-v /srv//data/./x:/data img',
    '-v /var/log:/var/log:ro -v /srv/data:/d img',
    '-v named-volume:/data img',
  ])('allowing /srv/data and /var/log: docker run %s is accepted', (line) => {
    expect(problem(line, ALLOW_SRV)).toBeNull();
  });

  test('named volumes are not host paths: accepted under the strict policy', () => {
    expect(problem('-v data:/data -v cache:/cache:ro img')).toBeNull();
  });

  test('allowing "/" allows every host path (an explicit choice)', () => {
    expect(problem('-v /:/host img', { hostPaths: ['/'], hostNetwork: false })).toBeNull();
  });

  test('paths compare component by component after normalizing', () => {
    expect(normalizeHostPath('/srv//data/./x/../')).toBe('/srv/data');
    expect(hostPathAllowed('/srv/database', ['/srv/data'])).toBe(false);
    expect(hostPathAllowed('/srv/data', ['/srv/data/'])).toBe(true);
    expect(hostPathAllowed('/srv/data-old/x', ['/srv/data'])).toBe(false);
    expect(hostPathAllowed('/srv/data/x', ['/srv/data'])).toBe(true);
  });
});

describe("the host's network", () => {
  test.each(['--network host img', '--net host img', '--net=host img', '--network=host img'])('strict: docker run %s is refused, naming the flag', (line) => {
    expect(problem(line)).toMatch(/^--network host uses the host's network: .*BOATLOAD_UNIT_ALLOW_HOST_NETWORK=true/);
  });

  test('allowed by the switch; other networks never need it', () => {
    expect(problem('--network host img', { hostPaths: [], hostNetwork: true })).toBeNull();
    expect(problem('--network bridge img')).toBeNull();
    expect(problem('--network none img')).toBeNull();
    expect(problem('--network my-net img')).toBeNull();
  });

  test('the host network switch does not allow host paths, nor the reverse', () => {
    expect(problem('--network host -v /:/h img', { hostPaths: [], hostNetwork: true })).toContain('-v /:/h');
    expect(problem('--network host -v /srv/data:/h img', ALLOW_SRV)).toContain('--network host');
  });
});

describe('other ways into the host are flags units cannot use at all', () => {
  test.each([
    ['--privileged', '--privileged'],
    ['--privileged=true', '--privileged'],
    ['--cap-add SYS_ADMIN', '--cap-add'],
    ['--cap-add=ALL', '--cap-add'],
    ['--device /dev/sda', '--device'],
    ['--device=/dev/kmsg:/dev/kmsg', '--device'],
    ['--pid host', '--pid'],
    ['--pid=host', '--pid'],
    ['--ipc host', '--ipc'],
    ['--uts host', '--uts'],
    ['--userns host', '--userns'],
    ['--cgroupns host', '--cgroupns'],
    ['--security-opt seccomp=unconfined', '--security-opt'],
    ['--security-opt apparmor=unconfined', '--security-opt'],
    ['--mount type=bind,source=/,target=/host', '--mount'],
    ['--volumes-from other', '--volumes-from'],
    ['--group-add 0', '--group-add'],
    ['-u 0:0 --privileged', '-u'],
  ])('docker run %s ... is refused naming %s', (flags, flag) => {
    expect(() => spec(`${flags} img`)).toThrow(DockerRunError);
    expect(() => spec(`${flags} img`)).toThrow(`unsupported docker run flag "${flag}"`);
  });

  test("joining another container's namespaces through --network container:NAME is refused", () => {
    expect(() => spec('--network container:boatload-api img')).toThrow('invalid network name "container:boatload-api"');
  });

  test('through a unit file too: ExecStart names the flag', () => {
    const unit = parseUnitFile('[Service]\nExecStart=/usr/bin/docker run --privileged img\n');
    expect(() => containerSpecFromUnit(unit, 'p.service')).toThrow(UnitSpecError);
    expect(() => containerSpecFromUnit(unit, 'p.service')).toThrow('ExecStart: unsupported docker run flag "--privileged"');
  });
});

describe('fixed host ports', () => {
  const RANGE: UnitPolicy = { hostPaths: [], hostNetwork: false, hostPorts: HostPortPolicy.parse('20000-20999,8443') };

  test('a host port the engine chooses is always allowed', () => {
    expect(problem('-p 80 -p 127.0.0.1::53/udp img')).toBeNull();
  });

  test.each([
    ['-p 80:80 img', STRICT_UNIT_POLICY, /-p 80:80 publishes the fixed host port 80: .*BOATLOAD_HOST_PORTS\); write -p 80/],
    ['-p 19999:80 img', RANGE, /fixed host port 19999: .*BOATLOAD_HOST_PORTS\); allowed: 20000-20999, 8443/],
    ['--publish=0.0.0.0:21000:80 img', RANGE, /fixed host port 21000/],
  ])('%s is refused, naming the flag and the setting', (line, policy, message) => {
    expect(problem(line, policy)).toMatch(message);
  });

  test('inside the range it is allowed', () => {
    expect(problem('-p 20000:80 -p 20999:53/udp -p 8443:443 img', RANGE)).toBeNull();
  });

  test('the range is parsed and refused when malformed', () => {
    expect(HostPortPolicy.parse(' 20000-20002 , 8080 ').describe()).toBe('20000-20002, 8080');
    expect(HostPortPolicy.parse('').describe()).toBe('none');
    for (const bad of ['0-10', '10-5', '70000', 'http', '1-2-3', '-5']) expect(() => HostPortPolicy.parse(bad)).toThrow();
  });
});
