import { SignatureVerifier, signRequest } from '../../common/signing';

const secret = 'unit-test-secret-unit-test-secret';
const request = { method: 'POST', path: '/containers?x=1', body: Buffer.from('{"a":1}') };

test('a signature verifies once, within the window', () => {
  let now = 1_700_000_000_000;
  const verifier = new SignatureVerifier({ secret, windowSeconds: 30, now: () => now });
  const headers = signRequest(secret, request, now);
  expect(verifier.verify(request, headers)).toBeNull();
  expect(verifier.verify(request, headers)).toBe('request was replayed');
  now += 31_000;
  expect(verifier.verify(request, signRequest(secret, request, now - 31_000))).toBe('signature timestamp is stale');
});

test('forgets nonces once they are out of the window', () => {
  let now = 1_700_000_000_000;
  const verifier = new SignatureVerifier({ secret, windowSeconds: 5, now: () => now });
  for (let i = 0; i < 100; i++) expect(verifier.verify(request, signRequest(secret, request, now))).toBeNull();
  now += 10_000;
  expect(verifier.verify(request, signRequest(secret, request, now))).toBeNull();
  expect((verifier as unknown as { seenNonces: Map<string, number> }).seenNonces.size).toBe(1);
});

test.each([
  ['method', { ...request, method: 'GET' }],
  ['path', { ...request, path: '/containers?x=2' }],
])('a changed %s fails', (_what, changed) => {
  const verifier = new SignatureVerifier({ secret, windowSeconds: 30 });
  expect(verifier.verify(changed, signRequest(secret, request))).toBe('bad signature');
});

test('malformed headers are refused, not thrown', () => {
  const verifier = new SignatureVerifier({ secret, windowSeconds: 30 });
  const headers = { ...signRequest(secret, request), 'x-boatload-timestamp': 'soon', 'x-boatload-signature': 'zz' };
  expect(verifier.verify(request, headers)).toBe('malformed signature headers');
});
