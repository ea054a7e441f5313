/** The engine's published bindings → where each port is reached; comparing two reads. */
import { publishedPortsOf, samePorts } from '../../common/published-ports';

describe('publishedPortsOf', () => {
  test('a binding on every address is reached at the advertised address; IPv4 and IPv6 twins count once', () => {
    const ports = publishedPortsOf(
      [
        { port: 80, protocol: 'tcp', ip: '0.0.0.0', hostPort: 32768 },
        { port: 80, protocol: 'tcp', ip: '::', hostPort: 32768 },
        { port: 53, protocol: 'udp', ip: '', hostPort: 32769 },
        { port: 53, protocol: 'tcp', ip: '127.0.0.1', hostPort: 32770 },
      ],
      '192.0.2.2',
    );
    expect(ports).toEqual([
      { port: 53, protocol: 'tcp', host_ip: '127.0.0.1', host_port: 32770 },
      { port: 53, protocol: 'udp', host_ip: '192.0.2.2', host_port: 32769 },
      { port: 80, protocol: 'tcp', host_ip: '192.0.2.2', host_port: 32768 },
    ]);
  });

  test('unpublished or malformed bindings are left out', () => {
    expect(publishedPortsOf([{ port: 80, protocol: 'tcp', ip: '', hostPort: 0 }, { port: 80, protocol: 'sctp', ip: '', hostPort: 1 }, { port: 1, protocol: 'tcp', ip: '', hostPort: NaN }], 'x')).toEqual([]);
  });
});

describe('samePorts', () => {
  const a = { port: 80, protocol: 'tcp' as const, host_ip: '192.0.2.2', host_port: 32768 };
  test('absent and empty are the same; any field differing is a change', () => {
    expect(samePorts(undefined, [])).toBe(true);
    expect(samePorts([a], [{ ...a }])).toBe(true);
    expect(samePorts([a], [{ ...a, host_port: 32769 }])).toBe(false);
    expect(samePorts([a], [{ ...a, host_ip: '192.0.2.3' }])).toBe(false);
    expect(samePorts([a], undefined)).toBe(false);
  });
});
