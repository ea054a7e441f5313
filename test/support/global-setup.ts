/**
 * Runs once before the suite: the integration tests need a real Docker Engine and the base image.
 * If either is missing the whole suite fails here, loudly; nothing is skipped.
 */
import Docker from 'dockerode';

export const BASE_IMAGE = 'boatload/base:latest';

export default async function globalSetup(): Promise<void> {
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
