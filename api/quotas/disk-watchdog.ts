/**
 * The disk watchdog: the engine here (overlay2 on ext4) cannot cap a container's writable layer
 * (`--storage-opt size` needs overlay2 on xfs with pquota) nor a local volume, so every interval
 * it asks each satellite for the sizes of this installation's writable layers and volumes, and
 * stops what is over its owner's quota, with the reason on the container's record:
 *
 * - a container whose writable layer is over `container_disk_bytes`;
 * - the containers that mount a volume read-write that is over `volume_bytes`.
 *
 * A stopped container reads `status: error` with the reason until its owner starts it again (and
 * it is stopped again at the next round if it is still over). Rounds never overlap.
 */
import { errorText } from '../../common/errors';
import { LABELS } from '../../common/labels';
import type { Logger } from '../../common/logger';
import type { Leadership } from '../../units/scheduler/leadership';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRepository } from '../store/containers';
import type { VolumeRecord, VolumeRepository } from '../store/volumes';
import type { QuotaLimits } from './limits';
import type { QuotaService } from './service';

export interface DiskWatchdogOptions {
  satellites: SatelliteDirectory;
  containers: ContainerRepository;
  volumes: VolumeRepository;
  quotas: QuotaService;
  scheduler: Scheduler;
  instanceId: string;
  /** The image the satellite runs `du` in to measure volumes (present on every host). */
  helperImage: string;
  intervalMs: number;
  logger: Logger;
  /** Rounds run, and stop what is over, only while this replica leads (default: always, one API process). */
  leadership?: Leadership;
}

/** What one round stopped: container ids with the reason. */
export type DiskWatchRound = Array<{ container: string; reason: string }>;

const ACTIVE = new Set(['running', 'restarting', 'paused']);

export class DiskWatchdog {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: DiskWatchdogOptions) {}

  start(): void {
    if (this.options.intervalMs <= 0 || this.timer || this.stopped) return;
    const next = (): void => {
      this.timer = setTimeout(() => {
        this.round = (this.leads() ? this.check() : Promise.resolve())
          .catch((err: Error) => this.options.logger.warn(`disk watchdog: ${err.message}`))
          .finally(() => {
            if (!this.stopped) next();
          });
      }, this.options.intervalMs);
      this.timer.unref();
    };
    next();
  }

  private leads(): boolean {
    return this.options.leadership?.isLeader() ?? true;
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.round;
  }

  /** One round: measures, and stops what is over its quota. */
  async check(): Promise<DiskWatchRound> {
    // Each owner's limits read once per round.
    const limits = new Map<string, QuotaLimits>();
    for (const owner of new Set([...(await this.options.containers.list()), ...(await this.options.volumes.list())].map((record) => record.owner))) {
      limits.set(owner, await this.options.quotas.limitsFor(owner));
    }
    const limitsOf = (owner: string): QuotaLimits => limits.get(owner) ?? this.options.quotas.defaults();
    const halts: DiskWatchRound = [];
    await this.checkLayers(limitsOf, halts);
    await this.checkVolumes(limitsOf, halts);
    for (const halt of halts) {
      if (!this.leads()) break;
      const record = await this.options.containers.find(halt.container);
      if (!record) continue;
      try {
        await this.options.scheduler.halt(record.unitName, halt.reason);
        this.options.logger.warn(`container ${record.id} of ${record.owner} stopped: ${halt.reason}`);
      } catch (err) {
        this.options.logger.warn(`container ${record.id}: could not stop it (${halt.reason}): ${errorText(err)}`);
      }
    }
    return halts;
  }

  private async checkLayers(limitsOf: (owner: string) => QuotaLimits, halts: DiskWatchRound): Promise<void> {
    for (const satellite of this.options.satellites.all()) {
      // A warm run keeps its pool member's labels (labels cannot change): found by the pool label and its name.
      const sizes = [
        ...(await satellite.containerDiskUsage([`${LABELS.instance}=${this.options.instanceId}`, LABELS.container])),
        ...(await satellite.containerDiskUsage([`${LABELS.instance}=${this.options.instanceId}`, LABELS.warmPool])),
      ];
      for (const usage of sizes) {
        if (!ACTIVE.has(usage.state)) continue;
        const record = await this.options.containers.find(usage.labels[LABELS.container] ?? /^boatload-([0-9a-f]{32})$/.exec(usage.name)?.[1] ?? '');
        if (!record) continue;
        const limit = limitsOf(record.owner).containerDiskBytes;
        if (limit > 0 && usage.sizeRw > limit) {
          halts.push({ container: record.id, reason: `writable layer over its quota of ${limit} bytes (it holds ${usage.sizeRw} bytes)` });
        }
      }
    }
  }

  private async checkVolumes(limitsOf: (owner: string) => QuotaLimits, halts: DiskWatchRound): Promise<void> {
    const limited = (await this.options.volumes.list()).filter((volume) => limitsOf(volume.owner).volumeBytes > 0);
    if (!limited.length) return;
    // Who writes to each volume: containers that mount it read-write and should be running.
    const writers = new Map<string, string[]>();
    for (const container of await this.options.containers.list()) {
      if ((await this.options.scheduler.get(container.unitName))?.desiredState !== 'launched') continue;
      for (const mount of container.request.volumes ?? []) {
        if (!mount.readonly) writers.set(mount.volume, [...(writers.get(mount.volume) ?? []), container.id]);
      }
    }
    const byMachine = new Map<string | null, VolumeRecord[]>();
    for (const volume of limited) {
      if (writers.has(volume.id)) byMachine.set(volume.machineId, [...(byMachine.get(volume.machineId) ?? []), volume]);
    }
    for (const [machineId, volumes] of byMachine) {
      const sizes = await this.options.satellites
        .forMachine(machineId)
        .volumeDiskUsage({ volumes: volumes.map((v) => v.engineName), image: this.options.helperImage });
      const bytesOf = new Map(sizes.map((s) => [s.name, s.bytes]));
      for (const volume of volumes) {
        const bytes = bytesOf.get(volume.engineName);
        const limit = limitsOf(volume.owner).volumeBytes;
        if (bytes === undefined || bytes <= limit) continue;
        for (const container of writers.get(volume.id) ?? []) {
          halts.push({ container, reason: `volume "${volume.name}" (${volume.id}) over its quota of ${limit} bytes (it holds ${bytes} bytes)` });
        }
      }
    }
  }
}
