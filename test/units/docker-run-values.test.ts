import {
  DockerRunError,
  formatMemoryBytes,
  formatNanoCpus,
  formatPortMapping,
  formatVolumeMount,
  parseFlagBoolean,
  parseMemoryBytes,
  parseNanoCpus,
  parsePidsLimit,
  parsePortMapping,
  parseRestartPolicy,
  parseVolumeMount,
  portMappingProblem,
  volumeMountProblem,
} from '../../units/docker-run-values';

describe('ports', () => {
  it.each([
    ['80', { containerPort: 80, protocol: 'tcp' }],
    ['8080:80', { containerPort: 80, hostPort: 8080, protocol: 'tcp' }],
    ['53:53/udp', { containerPort: 53, hostPort: 53, protocol: 'udp' }],
    ['127.0.0.1:8080:80', { containerPort: 80, hostPort: 8080, hostIp: '127.0.0.1', protocol: 'tcp' }],
    ['127.0.0.1::80/tcp', { containerPort: 80, hostIp: '127.0.0.1', protocol: 'tcp' }],
    ['[::1]:8080:80', { containerPort: 80, hostPort: 8080, hostIp: '::1', protocol: 'tcp' }],
    ['[::]::80/udp', { containerPort: 80, hostIp: '::', protocol: 'udp' }],
  ])('parses %s and formats it back', (text, mapping) => {
    expect(parsePortMapping(text)).toEqual(mapping);
    expect(parsePortMapping(formatPortMapping(parsePortMapping(text)))).toEqual(mapping);
  });

  it('formats canonically', () => {
    expect(formatPortMapping({ containerPort: 80, protocol: 'tcp' })).toBe('80');
    expect(formatPortMapping({ containerPort: 80, hostPort: 81, hostIp: '::1', protocol: 'udp' })).toBe('[::1]:81:80/udp');
  });

  it.each([
    ['', /invalid container port/],
    ['0', /invalid container port/],
    ['65536', /invalid container port/],
    ['80/sctp', /unsupported port protocol/],
    ['8000-8010:8000-8010', /port ranges/],
    ['x:80', /invalid host port/],
    ['1.2.3:8080:80', /invalid host IP/],
    ['::1:8080:80', /invalid published port/],
    ['[::1]:80', /invalid published port/],
    ['[1.2.3.4]:1:80', /invalid published port/],
  ])('refuses %j', (text, message) => {
    expect(() => parsePortMapping(text)).toThrow(DockerRunError);
    expect(() => parsePortMapping(text)).toThrow(message);
  });

  it('reports unwritable mappings', () => {
    expect(portMappingProblem({ containerPort: 80, protocol: 'tcp' })).toBeNull();
    expect(portMappingProblem({ containerPort: 1.5, protocol: 'tcp' })).toMatch(/container port/);
    expect(portMappingProblem({ containerPort: 80, hostPort: 0, protocol: 'tcp' })).toMatch(/host port/);
    expect(portMappingProblem({ containerPort: 80, hostIp: '', protocol: 'tcp' })).toMatch(/host IP/);
  });
});

describe('volumes', () => {
  it('parses bind mounts and named volumes', () => {
    expect(parseVolumeMount('/srv/data:/data')).toEqual({ source: '/srv/data', target: '/data', readonly: false });
    expect(parseVolumeMount('cache:/cache:ro')).toEqual({ source: 'cache', target: '/cache', readonly: true });
    expect(parseVolumeMount('cache:/cache:rw')).toEqual({ source: 'cache', target: '/cache', readonly: false });
    expect(formatVolumeMount({ source: 'cache', target: '/cache', readonly: true })).toBe('cache:/cache:ro');
  });

  it.each([
    ['/data', /anonymous volumes/],
    ['./data:/data', /absolute host path or a volume name/],
    ['data:rel', /must be an absolute path/],
    ['a:/b:z', /expected source:target/],
    ['a:/b:ro:x', /expected source:target/],
  ])('refuses %j', (text, message) => {
    expect(() => parseVolumeMount(text)).toThrow(message);
  });

  it('refuses paths with : when formatting', () => {
    expect(volumeMountProblem({ source: '/a:b', target: '/c', readonly: false })).toMatch(/":"/);
  });
});

describe('memory', () => {
  it.each([
    ['512', 512], ['512b', 512], ['64k', 65536], ['64K', 65536], ['512m', 512 * 1024 ** 2], ['1g', 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3], ['2GiB', 2 * 1024 ** 3], ['1 mb', 1024 ** 2], ['1t', 1024 ** 4],
  ])('parses %s', (text, bytes) => {
    expect(parseMemoryBytes(text)).toBe(bytes);
  });

  it.each(['', 'x', '-1', '0', '1q', '1.g', '1e3'])('refuses %j', (text) => {
    expect(() => parseMemoryBytes(text)).toThrow(/invalid memory size/);
  });

  it('formats in the largest exact unit', () => {
    expect(formatMemoryBytes(512 * 1024 ** 2)).toBe('512m');
    expect(formatMemoryBytes(3 * 1024 ** 3)).toBe('3g');
    expect(formatMemoryBytes(1536)).toBe('1536');
    expect(formatMemoryBytes(2048)).toBe('2k');
    expect(formatMemoryBytes(1000)).toBe('1000');
  });
});

describe('cpus', () => {
  it.each([['1', 1e9], ['0.5', 5e8], ['.25', 2.5e8], ['2.', 2e9], ['1.000000001', 1000000001], ['1.5000000000', 1.5e9]])(
    'parses %s',
    (text, nano) => {
      expect(parseNanoCpus(text)).toBe(nano);
    },
  );

  it('refuses bad values', () => {
    expect(() => parseNanoCpus('0.0000000001')).toThrow(/too precise/);
    expect(() => parseNanoCpus('0')).toThrow(/invalid/);
    expect(() => parseNanoCpus('.')).toThrow(/invalid/);
    expect(() => parseNanoCpus('-1')).toThrow(/invalid/);
    expect(() => parseNanoCpus('1e3')).toThrow(/invalid/);
  });

  it('formats exactly', () => {
    expect(formatNanoCpus(1.5e9)).toBe('1.5');
    expect(formatNanoCpus(2e9)).toBe('2');
    expect(formatNanoCpus(1)).toBe('0.000000001');
  });
});

describe('pids, restart and booleans', () => {
  it('parses --pids-limit', () => {
    expect(parsePidsLimit('100')).toBe(100);
    expect(parsePidsLimit('-1')).toBe(-1);
    expect(() => parsePidsLimit('0')).toThrow(/pids-limit/);
    expect(() => parsePidsLimit('-2')).toThrow(/pids-limit/);
    expect(() => parsePidsLimit('1.5')).toThrow(/pids-limit/);
  });

  it('parses --restart', () => {
    expect(parseRestartPolicy('no')).toBe('no');
    expect(parseRestartPolicy('always')).toBe('always');
    expect(parseRestartPolicy('unless-stopped')).toBe('unless-stopped');
    expect(parseRestartPolicy('on-failure')).toBe('on-failure');
    expect(parseRestartPolicy('on-failure:5')).toBe('on-failure');
    expect(() => parseRestartPolicy('always:5')).toThrow(/invalid --restart/);
    expect(() => parseRestartPolicy('sometimes')).toThrow(/invalid --restart/);
  });

  it("parses booleans like Go's strconv.ParseBool", () => {
    expect(parseFlagBoolean('true', '--rm')).toBe(true);
    expect(parseFlagBoolean('T', '--rm')).toBe(true);
    expect(parseFlagBoolean('0', '--rm')).toBe(false);
    expect(() => parseFlagBoolean('yes', '--rm')).toThrow(/invalid boolean "yes" for --rm/);
  });
});
