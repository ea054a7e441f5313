/**
 * Named volumes with owners: engine volumes `boatload-vol-<id>` (labelled with owner and
 * instance) on one machine, mounted at create with `volumes: [{name, path, readonly}]`. Files in
 * a volume outlive the containers that mount it; deleting a volume in use is a 409.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ServiceUnavailableError } from '../../common/errors';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRepository } from '../store/containers';
import { OVER_LIMIT } from '../store/over-limit';
import type { User } from '../store/users';
import type { VolumeRecord, VolumeRepository } from '../store/volumes';
import { LABELS, volumeEngineName } from '../../common/labels';
import { countQuotaExceeded, type QuotaService } from '../quotas/service';

export interface VolumeView {
  id: string;
  name: string;
  owner: string;
  engine_name: string;
  node: string | null;
  created: string;
  /** Containers (ids) whose records mount it. */
  used_by: string[];
}

export interface VolumeServiceOptions {
  volumes: VolumeRepository;
  containers: ContainerRepository;
  satellites: SatelliteDirectory;
  scheduler: Scheduler;
  instanceId: string;
  /** Each owner's volume quota. */
  quotas: QuotaService;
}

export class VolumeService {
  constructor(private readonly options: VolumeServiceOptions) {}

  /** Container ids by volume id, from the container records. */
  private async usage(): Promise<Map<string, string[]>> {
    const byVolume = new Map<string, string[]>();
    for (const container of await this.options.containers.list()) {
      for (const mount of container.request.volumes ?? []) (byVolume.get(mount.volume) ?? byVolume.set(mount.volume, []).get(mount.volume))?.push(container.id);
    }
    return byVolume;
  }

  private view(record: VolumeRecord, usage: Map<string, string[]>): VolumeView {
    return { id: record.id, name: record.name, owner: record.owner, engine_name: record.engineName, node: record.machineId, created: record.created, used_by: usage.get(record.id) ?? [] };
  }

  async create(owner: User, input: { name: string }): Promise<VolumeView> {
    const { volumes, quotas } = this.options;
    if (await volumes.findByName(owner.username, input.name)) throw new ConflictError(`You already have a volume named "${input.name}".`);
    const limit = await quotas.ensureRoom(owner.username, 'volumes');
    const [machine] = await this.options.scheduler.machines();
    if (!machine) throw new ServiceUnavailableError('No machine is available for the volume.');
    const id = randomBytes(16).toString('hex');
    const engineName = volumeEngineName(id);
    // The record first: its insert is where the quota and the name are decided, atomically,
    // so concurrent creates never make engine volumes that are then refused.
    const record = await volumes.insertWithinLimit({ id, owner: owner.username, name: input.name, engineName, machineId: machine.id }, limit);
    if (record === OVER_LIMIT) throw countQuotaExceeded('volumes', limit);
    if (!record) throw new ConflictError(`You already have a volume named "${input.name}".`);
    try {
      await this.options.satellites.forMachine(machine.id).createVolume({
        name: engineName,
        labels: { [LABELS.volume]: id, [LABELS.owner]: owner.username, [LABELS.instance]: this.options.instanceId },
      });
    } catch (err) {
      await volumes.delete(id);
      throw err;
    }
    return this.view(record, new Map());
  }

  /** The record, if the user may see it (someone else's is a 404). */
  async owned(user: User, id: string): Promise<VolumeRecord> {
    const record = /^[0-9a-f]{32}$/.test(id) ? await this.options.volumes.find(id) : undefined;
    if (!record || (!user.isAdmin && record.owner !== user.username)) throw new NotFoundError();
    return record;
  }

  async get(user: User, id: string): Promise<VolumeView> {
    return this.view(await this.owned(user, id), await this.usage());
  }

  async list(user: User): Promise<VolumeView[]> {
    const records = await this.options.volumes.list(user.isAdmin ? undefined : user.username);
    const usage = await this.usage();
    return records.map((record) => this.view(record, usage));
  }

  /** A volume named in a create request: the owner's by name, or by id (admins: anyone's). */
  async resolve(user: User, nameOrId: string): Promise<VolumeRecord | undefined> {
    const byName = await this.options.volumes.findByName(user.username, nameOrId);
    if (byName) return byName;
    const byId = /^[0-9a-f]{32}$/.test(nameOrId) ? await this.options.volumes.find(nameOrId) : undefined;
    return byId && (user.isAdmin || byId.owner === user.username) ? byId : undefined;
  }

  async delete(user: User, id: string): Promise<void> {
    const record = await this.owned(user, id);
    const users = (await this.usage()).get(record.id) ?? [];
    if (users.length) throw new ConflictError(`The volume is in use by container(s) ${users.join(', ')}; delete them first.`);
    await this.options.satellites.forMachine(record.machineId).removeVolume(record.engineName);
    await this.options.volumes.delete(record.id);
  }

  async deleteOwnedBy(username: string): Promise<void> {
    for (const record of await this.options.volumes.list(username)) {
      await this.options.satellites.forMachine(record.machineId).removeVolume(record.engineName).catch(() => undefined);
      await this.options.volumes.delete(record.id);
    }
  }
}
