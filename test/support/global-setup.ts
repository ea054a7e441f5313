/**
 * Runs once before the suite: the integration tests need a real Docker Engine and the base image,
 * the browser tests (test/ui) Debian's Chromium. If one is missing the whole suite fails here,
 * loudly; nothing is skipped.
 */
import Docker from 'dockerode';
import { accessSync, constants } from 'node:fs';
import { CHROMIUM_PATH } from './browser';

export const BASE_IMAGE = 'boatload/base:latest';

export default async function globalSetup(): Promise<void> {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM_PATH} is missing: the browser tests (test/ui) need Debian's chromium. Run the suite with \`npm test\`, which installs it (as root), or: apt-get install -y chromium`);
  }
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`No Docker Engine answers (${(err as Error).message}). Run the suite with \`npm test\`, which starts one.`);
  }
  try {
    await docker.getImage(BASE_IMAGE).inspect();
  } catch {
    throw new Error(`${BASE_IMAGE} is missing. Run the suite with \`npm test\`, which builds it.`);
  }
}
