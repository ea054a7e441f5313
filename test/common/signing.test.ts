import { SignatureVerifier, sha256Hex, signRequest } from '../../common/signing';

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

test('the head is checked without the body; the nonce is held while the body streams and used only once it matches', () => {
  const verifier = new SignatureVerifier({ secret, windowSeconds: 30 });
  const headers = signRequest(secret, request);
  const head = { method: request.method, path: request.path };
  const first = verifier.verifyHead(head, headers);
  if (!first.ok) throw new Error(first.refusal);
  // While the body is being read, the same nonce is refused.
  expect(verifier.verifyHead(head, headers)).toEqual({ ok: false, refusal: 'request was replayed' });
  // A body that does not match frees the nonce: the genuine request can still come.
  expect(first.claim.settle(sha256Hex(Buffer.from('{"a":2}')))).toBe('body does not match its digest');
  const second = verifier.verifyHead(head, headers);
  if (!second.ok) throw new Error(second.refusal);
  second.claim.abandon();
  const third = verifier.verifyHead(head, headers);
  if (!third.ok) throw new Error(third.refusal);
  expect(third.claim.settle(sha256Hex(request.body))).toBeNull();
  expect(verifier.verifyHead(head, headers)).toEqual({ ok: false, refusal: 'request was replayed' });
});

test('a bad signature is refused before anything about the nonce is kept', () => {
  const verifier = new SignatureVerifier({ secret, windowSeconds: 30 });
  const headers = signRequest('another-secret-another-secret-42', request);
  expect(verifier.verifyHead(request, headers)).toEqual({ ok: false, refusal: 'bad signature' });
  expect(verifier.verifyHead(request, { ...headers, 'x-boatload-content-sha256': 'zz' })).toEqual({ ok: false, refusal: 'malformed signature headers' });
  expect((verifier as unknown as { pendingNonces: Set<string> }).pendingNonces.size).toBe(0);
  expect((verifier as unknown as { seenNonces: Map<string, number> }).seenNonces.size).toBe(0);
});
