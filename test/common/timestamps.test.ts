import { nanosToRfc3339, nanosToUnixSeconds, parseInstant, rfc3339ToNanos, unixSecondsToNanos } from '../../common/timestamps';
import { sseEvent } from '../../satellite/container-sessions';

describe('timestamps', () => {
  test('RFC 3339 with nine digits round-trips through nanoseconds', () => {
    const text = '2024-05-01T10:00:00.123456789Z';
    const nanos = rfc3339ToNanos(text) as bigint;
    expect(nanos).toBe(1714557600123456789n);
    expect(nanosToRfc3339(nanos)).toBe(text);
    expect(nanosToUnixSeconds(nanos)).toBe('1714557600.123456789');
  });

  test('fewer digits, offsets and unix seconds', () => {
    expect(rfc3339ToNanos('2024-05-01T12:00:00.5+02:00')).toBe(1714557600500000000n);
    expect(rfc3339ToNanos('2024-05-01T10:00:00Z')).toBe(1714557600000000000n);
    expect(unixSecondsToNanos('1714557600.25')).toBe(1714557600250000000n);
    expect(parseInstant('1714557600')).toBe(1714557600000000000n);
    expect(parseInstant('2024-05-01T10:00:00Z')).toBe(1714557600000000000n);
    for (const bad of ['', 'yesterday', '2024-05-01', '2024-05-01T10:00:00.1234567890Z', '-5']) expect(parseInstant(bad)).toBeNull();
  });
});

describe('sseEvent', () => {
  test('one data line per line of text, line ending dropped', () => {
    expect(sseEvent('stdout', 'X', 'hello\n')).toBe('id: X\nevent: stdout\ndata: hello\n\n');
    expect(sseEvent('stderr', 'X', 'a\r\nb\rc')).toBe('id: X\nevent: stderr\ndata: a\ndata: b\ndata: c\n\n');
  });
});
