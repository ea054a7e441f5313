import {
  containerNameProblem,
  imageReferenceProblem,
  networkNameProblem,
  volumeNameProblem,
} from '../../units/docker-reference';

describe('imageReferenceProblem', () => {
  it.each([
    'busybox', 'busybox:latest', 'boatload/base:latest', 'library/ubuntu:22.04', 'quay.io/coreos/etcd:v3.5.0',
    'localhost/app', 'localhost:5000/team/app:1.0', 'registry.example.com:443/a/b/c', 'my-app', 'a__b', 'a.b_c--d',
    `busybox@sha256:${'a'.repeat(64)}`, `busybox:1@sha256:${'0'.repeat(64)}`, 'REGISTRY.Example.com/app', 'app:Tag_1.x-y',
  ])('accepts %s', (reference) => {
    expect(imageReferenceProblem(reference)).toBeNull();
  });

  it.each([
    ['', /no repository/],
    ['Busybox', /lowercase/],
    ['team/App', /lowercase/],
    ['busybox:', /bad tag/],
    ['busybox:-x', /bad tag/],
    [`busybox:${'t'.repeat(129)}`, /bad tag/],
    ['busybox@sha256:abc', /bad digest/],
    [`busybox@md5:${'a'.repeat(64)}`, /bad digest/],
    ['-busybox', /lowercase/],
    ['a..b', /lowercase/],
    ['a/', /lowercase/],
    ['bad_host.com/app', /registry host/],
    ['host.com:port/app', /registry host|bad tag/],
    ['a b', /lowercase|bad tag/],
  ])('refuses %j', (reference, message) => {
    expect(imageReferenceProblem(reference)).toMatch(message);
  });
});

describe('names', () => {
  it('checks container names like docker', () => {
    expect(containerNameProblem('web-1')).toBeNull();
    expect(containerNameProblem('a.b_c')).toBeNull();
    expect(containerNameProblem('a')).toMatch(/invalid container name/);
    expect(containerNameProblem('-a')).toMatch(/invalid container name/);
    expect(containerNameProblem('a/b')).toMatch(/invalid container name/);
    expect(containerNameProblem('')).toMatch(/invalid container name/);
  });

  it('checks volume and network names', () => {
    expect(volumeNameProblem('data')).toBeNull();
    expect(volumeNameProblem('./data')).toMatch(/invalid volume name/);
    expect(networkNameProblem('host')).toBeNull();
    expect(networkNameProblem('n')).toBeNull();
    expect(networkNameProblem('container:web')).toMatch(/invalid network name/);
  });
});
