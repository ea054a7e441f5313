/**
 * Runs once before the cluster suite: it needs root (network namespaces, engines), the images the
 * nodes load, and no cluster left over from an interrupted run (that is torn down here).
 */
import Docker from 'dockerode';
import { Cluster } from './harness';

export const CLUSTER_IMAGES = ['boatload/base:latest', 'boatload/satellite:latest', 'boatload/api:latest'];

export default async function globalSetup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('The cluster suite needs root (network namespaces and Docker engines): run `npm run test:cluster` as root.');
  const docker = new Docker();
  for (const image of CLUSTER_IMAGES) {
    try {
      await docker.getImage(image).inspect();
    } catch {
      throw new Error(`${image} is missing. Run the suite with \`npm run test:cluster\`, which builds it.`);
    }
  }
  await Cluster.teardown();
}
