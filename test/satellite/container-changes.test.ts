/**
 * The changes and changed files of a container that changed nothing, on the real engine: the engine
 * answers the JSON null there (not []), which must read as no changes, not fail.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { ContainerFiles } from '../../satellite/container-files';
import { BASE_IMAGE } from '../support/global-setup';

const docker = new Docker();
const name = `test-changes-${randomBytes(4).toString('hex')}`;
let container: Docker.Container;

beforeAll(async () => {
  container = await docker.createContainer({ name, Image: BASE_IMAGE, Cmd: ['sleep', '60'] });
  await container.start();
});

afterAll(async () => {
  await container?.remove({ force: true });
});

test('a container without changes has none, and no changed files', async () => {
  const files = new ContainerFiles();
  await expect(files.changes(container)).resolves.toEqual([]);
  await expect(files.files(container)).resolves.toEqual([]);
});

test('a change shows once the container makes one', async () => {
  const exec = await container.exec({ Cmd: ['sh', '-c', 'echo x > /made.txt'], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise((resolve) => stream.on('end', resolve).resume());
  const files = new ContainerFiles();
  await expect(files.changes(container)).resolves.toContainEqual({ Path: '/made.txt', Kind: 1 });
  await expect(files.files(container)).resolves.toEqual([{ num: 0, path: '/made.txt', size: 2 }]);
});
