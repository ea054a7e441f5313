import { AddressPolicy } from '../../common/address-policy';

const policy = new AddressPolicy();

test.each([
  ['127.0.0.1', /loopback/],
  ['10.1.2.3', /private/],
  ['172.16.0.1', /private/],
  ['192.168.1.1', /private/],
  ['169.254.169.254', /linkLocal/],
  ['100.64.0.1', /carrierGradeNat/],
  ['0.0.0.0', /unspecified/],
  ['224.0.0.1', /multicast/],
  ['::1', /loopback/],
  ['fd00::1', /uniqueLocal/],
  ['fe80::1', /linkLocal/],
  ['::ffff:127.0.0.1', /loopback/],
])('%s is refused by default', (address, reason) => {
  expect(policy.problem(address)).toMatch(reason);
});

test.each(['8.8.8.8', '1.1.1.1', '2001:4860::8888'])('%s (public) is allowed', (address) => {
  expect(policy.problem(address)).toBeNull();
});

test('an allow-list opens exactly its ranges', () => {
  const allowing = AddressPolicy.fromList('127.0.0.0/8, fd00::/8', 'X');
  expect(allowing.problem('127.0.0.5')).toBeNull();
  expect(allowing.problem('fd00::5')).toBeNull();
  expect(allowing.problem('10.0.0.1')).toMatch(/private/);
  expect(() => AddressPolicy.fromList('10.0.0.0/99', 'BOATLOAD_DOWNLOAD_ALLOW')).toThrow(/BOATLOAD_DOWNLOAD_ALLOW/);
});

test('literal hosts are checked, names are left to the lookup', () => {
  expect(policy.literalHostProblem('[::1]')).toMatch(/loopback/);
  expect(policy.literalHostProblem('169.254.169.254')).toMatch(/linkLocal/);
  expect(policy.literalHostProblem('example.com')).toBeNull();
});

test('the guarded lookup refuses a name that resolves inside', async () => {
  const lookup = policy.lookup();
  const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('localhost', {}, (err) => resolve(err)));
  expect(error?.code).toBe('EADDRNOTALLOWED');
  expect(error?.message).toMatch(/non-public address/);
});
