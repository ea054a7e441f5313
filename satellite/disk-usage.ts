/**
 * Disk usage on this host's engine, for the API's disk watchdog (api/quotas/disk-watchdog.ts):
 * containers' writable layers (the engine's SizeRw, one listing for all of them) and volumes'
 * sizes (`du` in one short-lived helper container that mounts them all read-only).
 */
import type Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import type { ContainerDiskUsage, VolumeDiskUsage, VolumeUsageRequest } from '../common/satellite-protocol';
import { engineError } from './engine-errors';

/** Label of the helper container, so an operator can tell what it is. */
const HELPER_LABEL = 'boatload.helper';

export class DiskUsage {
  constructor(private readonly options: { docker: Docker }) {}

  /**
   * Writable-layer sizes of the containers with all of these labels. The engine walks each
   * layer to answer (about 30 µs per file here: 100 000 files take ~3 s), so callers poll it
   * on an interval of their choosing, not per request.
   */
  async containers(labels: string[]): Promise<ContainerDiskUsage[]> {
    try {
      // Docker quirk: SizeRw is only in the listing when size=true, and dockerode's type omits it.
      const listed = (await this.options.docker.listContainers({ all: true, size: true, filters: { label: labels } })) as Array<Docker.ContainerInfo & { SizeRw?: number }>;
      return listed.map((c) => ({ name: (c.Names[0] ?? c.Id).replace(/^\//, ''), labels: c.Labels ?? {}, state: c.State, sizeRw: c.SizeRw ?? 0 }));
    } catch (err) {
      throw engineError(err, 'container sizes');
    }
  }

  /**
   * Sizes in bytes (apparent, as SizeRw) of the named volumes. The satellite may run in a
   * container without the engine's volume directory, so `du` runs where the volumes are mounted:
   * one helper container (no network, read-only mounts) for all of them.
   */
  async volumes(request: VolumeUsageRequest): Promise<VolumeDiskUsage[]> {
    if (!request.volumes.length) return [];
    const docker = this.options.docker;
    const paths = request.volumes.map((_, i) => `/v/${i}`);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name: `boatload-du-${randomBytes(6).toString('hex')}`,
        Image: request.image,
        Entrypoint: ['du', '-s', '-b', ...paths],
        Cmd: [],
        // A TTY: the output comes back as plain text, without the engine's stream framing.
        Tty: true,
        Labels: { [HELPER_LABEL]: 'disk-usage' },
        HostConfig: {
          NetworkMode: 'none',
          Memory: 64 * 1024 * 1024,
          Mounts: request.volumes.map((name, i) => ({ Type: 'volume' as const, Source: name, Target: paths[i], ReadOnly: true })),
        },
      });
    } catch (err) {
      throw engineError(err, 'volume size helper');
    }
    try {
      await container.start();
      await container.wait();
      const output = (await container.logs({ stdout: true, stderr: false })).toString('utf8');
      const bytesByPath = new Map<string, number>();
      for (const line of output.split(/\r?\n/)) {
        const match = /^(\d+)\s+(\/v\/\d+)$/.exec(line.trim());
        if (match) bytesByPath.set(match[2], Number(match[1]));
      }
      return request.volumes.flatMap((name, i) => {
        const bytes = bytesByPath.get(paths[i]);
        return bytes === undefined ? [] : [{ name, bytes }];
      });
    } catch (err) {
      throw engineError(err, 'volume size helper');
    } finally {
      await container.remove({ force: true }).catch(() => undefined);
    }
  }
}
