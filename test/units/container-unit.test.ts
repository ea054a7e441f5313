import { type ContainerSpec, emptySpec } from '../../common/container-spec';
import {
  UnitSpecError,
  containerNameForUnit,
  containerSpecFromUnit,
  renderContainerUnit,
  sanitizeDescription,
} from '../../units/container-unit';
import { type UnitOption, parseUnitFile, serializeUnit } from '../../units/unit-file';
import { integer, nastyString, pick, seededRandom } from './random-strings';

const service = (name: string, value: string): UnitOption => ({ section: 'Service', name, value });

describe('renderContainerUnit', () => {
  it('renders the fleet-style unit', () => {
    const spec: ContainerSpec = { ...emptySpec('web', 'busybox'), cmd: ['sleep', '1d'], restart: 'unless-stopped' };
    expect(renderContainerUnit({ spec, description: 'My web', machineId: 'abc123' })).toEqual([
      { section: 'Unit', name: 'Description', value: 'My web' },
      service('ExecStartPre', '-/usr/bin/docker rm -f web'),
      service('ExecStart', '/usr/bin/docker run --name web --restart unless-stopped busybox sleep 1d'),
      service('ExecStop', '/usr/bin/docker stop web'),
      service('Restart', 'always'),
      { section: 'X-Fleet', name: 'MachineID', value: 'abc123' },
    ]);
  });

  it('maps restart policies to Restart=', () => {
    const restartOf = (restart: ContainerSpec['restart']): string | undefined =>
      renderContainerUnit({ spec: { ...emptySpec('web', 'busybox'), restart }, description: '' }).find((o) => o.name === 'Restart')?.value;
    expect(restartOf('always')).toBe('always');
    expect(restartOf('unless-stopped')).toBe('always');
    expect(restartOf('on-failure')).toBe('no');
    expect(restartOf('no')).toBe('no');
  });

  it('quotes hostile values so they stay inside ExecStart', () => {
    const spec: ContainerSpec = {
      ...emptySpec('web', 'busybox'),
      env: { X: 'a\nExecStartPre=/bin/evil' },
      cmd: ['100%', '$HOME', ';', '[Service]'],
    };
    const execStart = renderContainerUnit({ spec, description: '' }).find((o) => o.name === 'ExecStart')?.value;
    expect(execStart).toBe('/usr/bin/docker run --name web -e "X=a\\nExecStartPre=/bin/evil" busybox 100%% $$HOME \\; "[Service]"');
  });

  it('refuses specs without a valid name, bad machine ids and over-long lines', () => {
    expect(() => renderContainerUnit({ spec: emptySpec('', 'busybox'), description: '' })).toThrow(UnitSpecError);
    expect(() => renderContainerUnit({ spec: emptySpec('web', 'busybox'), description: '', machineId: 'a b' })).toThrow(/machine id/);
    expect(() => renderContainerUnit({ spec: { ...emptySpec('web', 'busybox'), cmd: ['x'.repeat(3000)] }, description: '' })).toThrow(
      /ExecStart= line is longer than 2048 bytes/,
    );
    expect(() => renderContainerUnit({ spec: { ...emptySpec('web', 'busybox'), workdir: 'rel' }, description: '' })).toThrow(
      new UnitSpecError('ExecStart: working directory "rel" must be an absolute path'),
    );
  });
});

describe('sanitizeDescription', () => {
  it('flattens to one printable line', () => {
    expect(sanitizeDescription('  a\nb\r\n\tc\u0000d\u2028e  ')).toBe('a b c d e');
  });

  it('doubles % and drops trailing backslashes', () => {
    expect(sanitizeDescription('50% \\\\')).toBe('50%%');
    expect(sanitizeDescription('a\\b')).toBe('a\\b');
  });

  it('fits the line limit without splitting characters or %%', () => {
    const long = sanitizeDescription('é%'.repeat(2000));
    expect(Buffer.byteLength(`Description=${long}`)).toBeLessThanOrEqual(2048);
    expect(long).toMatch(/^(é%%)+(é)?$/);
  });
});

describe('containerNameForUnit', () => {
  it('derives a docker name from the unit name', () => {
    expect(containerNameForUnit('web.service')).toBe('web');
    expect(containerNameForUnit('web@8080.service')).toBe('web-8080');
    expect(containerNameForUnit('a:b.service')).toBe('a-b');
    expect(containerNameForUnit('x.service')).toBe('unit-x');
    expect(containerNameForUnit('_x.service')).toBe('unit-_x');
  });
});

describe('containerSpecFromUnit', () => {
  const unit = (text: string): UnitOption[] => parseUnitFile(text);

  it('reads a classic fleet unit', () => {
    const options = unit(`
[Unit]
Description=My Apache Frontend
After=docker.service

[Service]
TimeoutStartSec=0
ExecStartPre=-/usr/bin/docker kill apache1
ExecStartPre=-/usr/bin/docker rm apache1
ExecStartPre=/usr/bin/docker pull coreos/apache
ExecStart=/usr/bin/docker run --rm --name apache1 -p 80:80 coreos/apache /usr/sbin/apache2ctl -D FOREGROUND
ExecStop=/usr/bin/docker stop apache1

[X-Fleet]
Conflicts=apache@*.service
`);
    expect(containerSpecFromUnit(options, 'apache.service')).toEqual<ContainerSpec>({
      ...emptySpec('apache1', 'coreos/apache'),
      autoRemove: true,
      ports: [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }],
      cmd: ['/usr/sbin/apache2ctl', '-D', 'FOREGROUND'],
    });
  });

  it('expands specifiers per word, after unquoting', () => {
    const options = unit('[Service]\nExecStartPre=-/usr/bin/docker rm -f %p-%i\nExecStart=/usr/bin/docker run --name %p-%i -e "UNIT=%n" -l i=%i busybox echo 100%%\n');
    expect(containerSpecFromUnit(options, 'web@8080.service')).toEqual<ContainerSpec>({
      ...emptySpec('web-8080', 'busybox'),
      env: { UNIT: 'web@8080.service' },
      labels: { i: '8080' },
      cmd: ['echo', '100%'],
    });
  });

  it('joins go-systemd continuations from fleet API values', () => {
    const options = [service('ExecStart', '/usr/bin/docker run \\\n  --name web \\\n  busybox')];
    expect(containerSpecFromUnit(options, 'web.service').name).toBe('web');
  });

  it('derives the name from the unit when --name is missing', () => {
    expect(containerSpecFromUnit([service('ExecStart', '/usr/bin/docker run busybox')], 'db@2.service').name).toBe('db-2');
  });

  it('uses Restart= when docker --restart is absent', () => {
    const restartFor = (value: string, extra = ''): string =>
      containerSpecFromUnit([service('ExecStart', `/usr/bin/docker run ${extra}busybox`), service('Restart', value)], 'w.service').restart;
    expect(restartFor('no')).toBe('no');
    expect(restartFor('always')).toBe('always');
    expect(restartFor('on-success')).toBe('always');
    expect(restartFor('on-failure')).toBe('on-failure');
    expect(restartFor('on-abnormal')).toBe('on-failure');
    expect(restartFor('on-abort')).toBe('on-failure');
    expect(restartFor('on-watchdog')).toBe('on-failure');
    expect(restartFor('always', '--restart=no ')).toBe('no');
    expect(restartFor('no', '--restart unless-stopped ')).toBe('unless-stopped');
    expect(() => restartFor('sometimes')).toThrow(new UnitSpecError('unsupported Restart=sometimes'));
  });

  it('lets an empty ExecStart= reset earlier ones, as systemd does', () => {
    const options = [service('ExecStart', '/usr/bin/docker run a1'), service('ExecStart', ''), service('ExecStart', '/usr/bin/docker run b2')];
    expect(containerSpecFromUnit(options, 'w.service').image).toBe('b2');
  });

  it.each<[string, UnitOption[], string | RegExp]>([
    ['no ExecStart', [service('Restart', 'no')], 'a container unit needs exactly one ExecStart= (found 0)'],
    ['two ExecStart', [service('ExecStart', '/usr/bin/docker run a1'), service('ExecStart', '/usr/bin/docker run b2')], /found 2/],
    ['a host command', [service('ExecStart', '/bin/sh -c "rm -rf /"')], 'ExecStart: ExecStart must be "/usr/bin/docker run ..."'],
    ['an unsupported flag', [service('ExecStart', '/usr/bin/docker run --privileged busybox')], 'ExecStart: unsupported docker run flag "--privileged"'],
    ['an unterminated quote', [service('ExecStart', '/usr/bin/docker run "busybox')], 'ExecStart: unterminated double quote in command line'],
    ['a variable reference', [service('ExecStart', '/usr/bin/docker run -e X=${HOME} busybox')], /ExecStart: environment variable reference/],
    ['the @ prefix', [service('ExecStart', '@/usr/bin/docker docker run busybox')], 'ExecStart: the "@" prefix is not supported'],
    ['a second command', [service('ExecStart', '/usr/bin/docker run busybox ; /bin/sh')], /ExecStart: ";" starts a second command/],
    ['a host ExecStartPre', [service('ExecStartPre', '/bin/mkdir -p /x'), service('ExecStart', '/usr/bin/docker run busybox')], 'ExecStartPre: units may not run host commands: /bin/mkdir -p /x'],
    ['a host ExecStopPost', [service('ExecStart', '/usr/bin/docker run busybox'), service('ExecStopPost', '-/bin/rm /x')], /ExecStopPost: units may not run host commands/],
    ['a host ExecReload', [service('ExecStart', '/usr/bin/docker run busybox'), service('ExecReload', '/bin/kill -HUP 1')], /ExecReload: units may not run host commands/],
    ['stopping another container', [service('ExecStart', '/usr/bin/docker run --name web busybox'), service('ExecStop', '/usr/bin/docker stop db')], 'ExecStop: docker stop "db" is not this unit\'s container "web"'],
    ['an injected line', [service('ExecStart', '/usr/bin/docker run busybox\nExecStartPre=/bin/evil')], /line break that is not a continuation/],
  ])('refuses %s', (_, options, message) => {
    expect(() => containerSpecFromUnit(options, 'w.service')).toThrow(UnitSpecError);
    expect(() => containerSpecFromUnit(options, 'w.service')).toThrow(message instanceof RegExp ? message : new UnitSpecError(message));
  });

  it('refuses an invalid unit name', () => {
    expect(() => containerSpecFromUnit([service('ExecStart', '/usr/bin/docker run busybox')], 'bad')).toThrow(UnitSpecError);
  });

  it('allows docker pull of any valid image in aux lines', () => {
    const options = [service('ExecStartPre', '/usr/bin/docker pull other/image'), service('ExecStart', '/usr/bin/docker run --name web busybox')];
    expect(containerSpecFromUnit(options, 'w.service').name).toBe('web');
  });
});

describe('renderContainerUnit → serializeUnit → parseUnitFile → containerSpecFromUnit (property)', () => {
  it('gives back the same options and an equal spec for hostile user values', () => {
    const random = seededRandom(1337);
    const text = (): string => nastyString(random, 10);
    for (let i = 0; i < 1500; i += 1) {
      const spec: ContainerSpec = emptySpec(`app-${i}`, pick(random, ['busybox', 'boatload/base:latest']));
      for (let j = integer(random, 0, 3); j > 0; j -= 1) spec.env[`E${j}${text().replace(/=/g, '')}`] = text();
      for (let j = integer(random, 0, 3); j > 0; j -= 1) spec.labels[`l${j}${text().replace(/=/g, '')}`] = text();
      if (random() < 0.7) spec.cmd = Array.from({ length: integer(random, 1, 4) }, text);
      if (random() < 0.5) spec.workdir = `/${text()}`;
      if (random() < 0.3) spec.entrypoint = [`/bin/${text()}`];
      spec.restart = pick(random, ['no', 'always', 'on-failure', 'unless-stopped'] as const);
      const unitName = pick(random, ['app.service', 'app@1.service', 'x:y.service']);
      const options = renderContainerUnit({ spec, description: text(), ...(random() < 0.3 ? { machineId: 'abcdef0123456789' } : {}) });
      const reparsed = parseUnitFile(serializeUnit(options));
      expect(reparsed).toEqual(options);
      expect(containerSpecFromUnit(reparsed, unitName)).toEqual(spec);
    }
  });
});
