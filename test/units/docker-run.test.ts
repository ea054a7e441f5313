import { type ContainerSpec, emptySpec } from '../../common/container-spec';
import {
  DockerRunError,
  dockerRunSpecProblem,
  parseDockerAuxCommand,
  parseDockerRun,
  parseDockerRunDetailed,
  renderDockerRun,
} from '../../units/docker-run';
import { integer, nastyString, pick, seededRandom } from './random-strings';

const run = (...args: string[]): ContainerSpec => parseDockerRun(['/usr/bin/docker', 'run', ...args]);

describe('parseDockerRun', () => {
  it('reads the minimal form', () => {
    expect(run('busybox')).toEqual(emptySpec('', 'busybox'));
  });

  it('accepts every docker binary path', () => {
    for (const binary of ['/usr/bin/docker', '/usr/local/bin/docker', 'docker']) {
      expect(parseDockerRun([binary, 'run', 'busybox']).image).toBe('busybox');
    }
  });

  it.each([[['/bin/docker', 'run', 'x']], [['/usr/bin/docker', 'create', 'x']], [['/bin/sh', '-c', 'x']], [[]]])(
    'refuses %j as ExecStart',
    (argv) => {
      expect(() => parseDockerRun(argv)).toThrow(new DockerRunError('ExecStart must be "/usr/bin/docker run ..."'));
    },
  );

  it('reads a full command line', () => {
    const spec = run(
      '--name', 'web', '--rm', '-d', '-e', 'A=1', '--env=B=x=y', '-eC=', '-p', '8080:80', '--publish=53:53/udp',
      '-v', '/srv:/srv:ro', '--volume', 'data:/data', '-w', '/app', '-l', 'team=core', '--label=empty', '--entrypoint',
      '/bin/sh', '-m', '512m', '--cpus', '1.5', '--pids-limit', '100', '--net', 'host', '--restart', 'on-failure:3',
      'quay.io/org/app:1.0', '-c', 'echo hi',
    );
    expect(spec).toEqual<ContainerSpec>({
      name: 'web',
      image: 'quay.io/org/app:1.0',
      cmd: ['-c', 'echo hi'],
      entrypoint: ['/bin/sh'],
      env: { A: '1', B: 'x=y', C: '' },
      labels: { team: 'core', empty: '' },
      workdir: '/app',
      restart: 'on-failure',
      autoRemove: true,
      memoryBytes: 512 * 1024 ** 2,
      nanoCpus: 1.5e9,
      pidsLimit: 100,
      network: 'host',
      ports: [
        { containerPort: 80, hostPort: 8080, protocol: 'tcp' },
        { containerPort: 53, hostPort: 53, protocol: 'udp' },
      ],
      volumes: [
        { source: '/srv', target: '/srv', readonly: true },
        { source: 'data', target: '/data', readonly: false },
      ],
    });
  });

  it('reads short clusters and attached values like pflag', () => {
    expect(run('-it', 'busybox')).toEqual(emptySpec('', 'busybox'));
    expect(run('-dit', '--rm', 'busybox').autoRemove).toBe(true);
    expect(run('-de', 'A=1', 'busybox').env).toEqual({ A: '1' });
    expect(run('-p8080:80', 'busybox').ports).toEqual([{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }]);
    expect(run('-e=A=1', 'busybox').env).toEqual({ A: '1' });
    expect(run('-m1g', 'busybox').memoryBytes).toBe(1024 ** 3);
  });

  it('takes the next argument as a value even when it starts with -', () => {
    expect(run('-e', 'X=-y', '--entrypoint', '-weird', 'busybox')).toMatchObject({ env: { X: '-y' }, entrypoint: ['-weird'] });
  });

  it('reads boolean flags with explicit values', () => {
    expect(run('--rm=false', 'busybox').autoRemove).toBe(false);
    expect(run('--rm=true', 'busybox').autoRemove).toBe(true);
    expect(run('-d=false', 'busybox')).toEqual(emptySpec('', 'busybox'));
    expect(() => run('--rm=maybe', 'busybox')).toThrow(/invalid boolean "maybe" for --rm/);
  });

  it('lets the last value win for single-valued flags and keeps repeated ones', () => {
    expect(run('--name', 'a1', '--name', 'b2', '-e', 'A=1', '-e', 'A=2', 'busybox')).toMatchObject({ name: 'b2', env: { A: '2' } });
  });

  it('clears the entrypoint with --entrypoint ""', () => {
    expect(run('--entrypoint', '', 'busybox').entrypoint).toEqual([]);
    expect(run('--entrypoint=', 'busybox').entrypoint).toEqual([]);
  });

  it('stops reading flags at the image or --', () => {
    expect(run('busybox', '--rm', '-e', 'X')).toEqual({ ...emptySpec('', 'busybox'), cmd: ['--rm', '-e', 'X'] });
    expect(run('--', 'busybox', 'ls')).toEqual({ ...emptySpec('', 'busybox'), cmd: ['ls'] });
  });

  it('stores env keys such as __proto__ as own properties', () => {
    const spec = run('-e', '__proto__=x', '-l', 'constructor=y', 'busybox');
    expect(Object.keys(spec.env)).toEqual(['__proto__']);
    expect(spec.env['__proto__']).toBe('x');
    expect(Object.getPrototypeOf(spec.env)).toBe(Object.prototype);
    expect(spec.labels.constructor).toBe('y');
  });

  it.each([
    [['--privileged', 'busybox'], 'unsupported docker run flag "--privileged"'],
    [['--privileged=true', 'busybox'], 'unsupported docker run flag "--privileged"'],
    [['--hostname', 'h', 'busybox'], 'unsupported docker run flag "--hostname"'],
    [['-h', 'h', 'busybox'], 'unsupported docker run flag "-h"'],
    [['-itu', 'root', 'busybox'], 'unsupported docker run flag "-u"'],
    [['--cap-add=ALL', 'busybox'], 'unsupported docker run flag "--cap-add"'],
    [['-e', 'HOME', 'busybox'], '-e HOME: the host environment is not passed to containers; write -e HOME=value'],
    [['-e', '=x', 'busybox'], 'invalid environment variable "=x": the name is empty'],
    [['--env-file', '/etc/env', 'busybox'], '--env-file reads a file on the host; use -e'],
    [['--env-file=/etc/env', 'busybox'], '--env-file reads a file on the host; use -e'],
    [['--name'], 'flag needs an argument: --name'],
    [['-e'], 'flag needs an argument: -e'],
    [['--rm'], 'docker run needs an image'],
    [[], 'docker run needs an image'],
    [['--name', 'x', 'busybox'], 'invalid container name "x": use 2+ characters of [a-zA-Z0-9_.-], starting with a letter or digit'],
    [['-w', 'app', 'busybox'], 'working directory "app" must be an absolute path'],
    [['--network', 'container:db', 'busybox'], 'invalid network name "container:db"'],
    [['Busybox'], 'invalid image reference "Busybox": "Busybox" must be lowercase letters and digits, separated by ".", "_", "__" or "-"'],
  ])('refuses %j', (args, message) => {
    expect(() => run(...args)).toThrow(new DockerRunError(message));
  });

  it('reports whether --restart was given', () => {
    expect(parseDockerRunDetailed(['docker', 'run', 'busybox']).restartGiven).toBe(false);
    expect(parseDockerRunDetailed(['docker', 'run', '--restart=no', 'busybox']).restartGiven).toBe(true);
  });
});

describe('renderDockerRun', () => {
  it('writes the canonical command line', () => {
    const spec: ContainerSpec = {
      ...emptySpec('web', 'busybox:1'),
      env: { A: '1' },
      labels: { l: 'v' },
      ports: [{ containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
      volumes: [{ source: 'data', target: '/data', readonly: true }],
      workdir: '/w',
      entrypoint: ['/bin/sh'],
      memoryBytes: 256 * 1024 ** 2,
      nanoCpus: 5e8,
      pidsLimit: 50,
      network: 'bridge',
      restart: 'always',
      autoRemove: true,
      cmd: ['-c', 'echo hi'],
    };
    expect(renderDockerRun(spec)).toEqual([
      '/usr/bin/docker', 'run', '--name', 'web', '--rm', '-e', 'A=1', '-l', 'l=v', '-p', '8080:80', '-v', 'data:/data:ro',
      '-w', '/w', '--entrypoint', '/bin/sh', '--memory', '256m', '--cpus', '0.5', '--pids-limit', '50', '--network', 'bridge',
      '--restart', 'always', 'busybox:1', '-c', 'echo hi',
    ]);
    expect(parseDockerRun(renderDockerRun(spec))).toEqual(spec);
  });

  it('omits the name when it is empty and writes --entrypoint "" for []', () => {
    expect(renderDockerRun({ ...emptySpec('', 'busybox'), entrypoint: [] })).toEqual([
      '/usr/bin/docker', 'run', '--entrypoint', '', 'busybox',
    ]);
  });

  it.each<[string, Partial<ContainerSpec>, RegExp]>([
    ['a bad name', { name: '-x' }, /invalid container name/],
    ['a bad image', { image: 'UPPER' }, /invalid image reference/],
    ['an env key with =', { env: { 'A=B': 'c' } }, /invalid environment variable or label name "A=B"/],
    ['an empty label key', { labels: { '': 'c' } }, /label name ""/],
    ['NUL in a value', { cmd: ['a\0b'] }, /NUL/],
    ['a relative workdir', { workdir: 'w' }, /absolute/],
    ['a two-word entrypoint', { entrypoint: ['a', 'b'] }, /single non-empty word/],
    ['an empty entrypoint word', { entrypoint: [''] }, /single non-empty word/],
    ['a volume path with :', { volumes: [{ source: '/a:b', target: '/b', readonly: false }] }, /":"/],
    ['a bad port', { ports: [{ containerPort: 0, protocol: 'tcp' }] }, /container port/],
    ['fractional memory', { memoryBytes: 1.5 }, /memory/],
    ['zero cpus', { nanoCpus: 0 }, /nanoCpus/],
    ['zero pids', { pidsLimit: 0 }, /pids/],
    ['a bad network', { network: '' }, /network/],
  ])('refuses %s', (_, patch, message) => {
    const spec = { ...emptySpec('web', 'busybox'), ...patch };
    expect(dockerRunSpecProblem(spec)).toMatch(message);
    expect(() => renderDockerRun(spec)).toThrow(DockerRunError);
  });

  it('round-trips random specs (property)', () => {
    const random = seededRandom(42);
    const safeText = (): string => nastyString(random).replace(/\0/g, '');
    for (let i = 0; i < 2000; i += 1) {
      const spec = emptySpec(random() < 0.2 ? '' : `c${i}`, pick(random, ['busybox', 'quay.io/a/b:1', `x@sha256:${'f'.repeat(64)}`]));
      for (let j = integer(random, 0, 3); j > 0; j -= 1) spec.env[`K${j}${safeText().replace(/=/g, '')}`] = safeText();
      for (let j = integer(random, 0, 3); j > 0; j -= 1) spec.labels[`l${j}${safeText().replace(/=/g, '')}`] = safeText();
      if (random() < 0.5) spec.cmd = Array.from({ length: integer(random, 1, 4) }, safeText);
      if (random() < 0.3) spec.entrypoint = random() < 0.5 ? [] : [`/x${safeText()}`];
      if (random() < 0.3) spec.workdir = `/${safeText()}`;
      if (random() < 0.3) spec.memoryBytes = integer(random, 1, 2 ** 40);
      if (random() < 0.3) spec.nanoCpus = integer(random, 1, 64e9);
      if (random() < 0.3) spec.pidsLimit = pick(random, [-1, 1, 4096]);
      if (random() < 0.3) spec.network = pick(random, ['bridge', 'host', 'none', 'my-net']);
      spec.restart = pick(random, ['no', 'always', 'on-failure', 'unless-stopped'] as const);
      spec.autoRemove = random() < 0.5;
      if (random() < 0.4) spec.ports.push({ containerPort: integer(random, 1, 65535), protocol: pick(random, ['tcp', 'udp'] as const), ...(random() < 0.5 ? { hostPort: integer(random, 1, 65535) } : {}), ...(random() < 0.3 ? { hostIp: pick(random, ['0.0.0.0', '::1', '10.1.2.3']) } : {}) });
      if (random() < 0.4) spec.volumes.push({ source: pick(random, ['/srv/x', 'vol1']), target: `/${safeText().replace(/:/g, '')}`, readonly: random() < 0.5 });
      expect(parseDockerRun(renderDockerRun(spec))).toEqual(spec);
    }
  });
});

describe('--add-host', () => {
  const parse = (...flags: string[]) => parseDockerRun(['/usr/bin/docker', 'run', ...flags, 'busybox']);

  it('reads name:ip (and name=ip, a bracketed IPv6) and writes it back', () => {
    const spec = parse('--add-host', 'db:192.0.2.7', '--add-host=cache=2001:db8::1', '--add-host', 'v6:[2001:db8::2]');
    expect(spec.extraHosts).toEqual([{ name: 'db', ip: '192.0.2.7' }, { name: 'cache', ip: '2001:db8::1' }, { name: 'v6', ip: '2001:db8::2' }]);
    expect(renderDockerRun(spec)).toEqual(expect.arrayContaining(['--add-host', 'db:192.0.2.7', '--add-host', 'cache:2001:db8::1']));
    expect(parseDockerRun(renderDockerRun(spec))).toEqual(spec);
  });

  it.each(['db', 'db:', ':1.2.3.4', 'db:not-an-ip', 'bad_name:1.2.3.4', '-x:1.2.3.4', 'a\nb:1.2.3.4'])('refuses %j', (value) => {
    expect(() => parse('--add-host', value)).toThrow(DockerRunError);
  });

  it('a spec with a bad extra host cannot be rendered', () => {
    expect(() => renderDockerRun({ ...emptySpec('web', 'busybox'), extraHosts: [{ name: 'x y', ip: '1.2.3.4' }] })).toThrow(DockerRunError);
  });
});

describe('parseDockerAuxCommand', () => {
  it.each([
    [['/usr/bin/docker', 'kill', 'web'], { action: 'kill', target: 'web' }],
    [['/usr/bin/docker', 'rm', 'web'], { action: 'rm', target: 'web' }],
    [['/usr/bin/docker', 'rm', '-f', 'web'], { action: 'rm', target: 'web' }],
    [['docker', 'rm', '--force', 'web'], { action: 'rm', target: 'web' }],
    [['/usr/local/bin/docker', 'stop', 'web'], { action: 'stop', target: 'web' }],
    [['/usr/bin/docker', 'pull', 'quay.io/a/b:1'], { action: 'pull', target: 'quay.io/a/b:1' }],
  ])('reads %j', (argv, command) => {
    expect(parseDockerAuxCommand(argv)).toEqual(command);
  });

  it.each([
    [['/bin/sh', '-c', 'rm -rf /']],
    [['/usr/bin/docker', 'exec', 'web', 'sh']],
    [['/usr/bin/docker', 'run', 'busybox']],
    [['/usr/bin/docker', 'kill']],
    [['/usr/bin/docker', 'kill', 'a1', 'b2']],
    [['/usr/bin/docker', 'stop', '-t', '5', 'web']],
    [['/usr/bin/docker', 'kill', '-f', 'web']],
    [['/usr/bin/docker']],
  ])('refuses %j', (argv) => {
    expect(() => parseDockerAuxCommand(argv)).toThrow(new DockerRunError(`units may not run host commands: ${argv.join(' ')}`));
  });

  it('checks the target', () => {
    expect(() => parseDockerAuxCommand(['docker', 'stop', 'a/b'])).toThrow(/docker stop: invalid container name/);
    expect(() => parseDockerAuxCommand(['docker', 'pull', 'UP'])).toThrow(/docker pull: invalid image reference/);
  });
});
