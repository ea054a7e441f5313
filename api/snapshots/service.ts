/**
 * Snapshots: a container's filesystem committed as an engine image (`boatload/snapshot:<id>`,
 * labelled with owner, instance and source), with a record in the store. A container started
 * from one is pinned to the machine that holds the image.
 *
 * The record also keeps the source container's command: its script, script name and arguments.
 * The script is not in the image: it is a bind mount of a host file (or a Swarm config), which an
 * engine commit does not capture (the image holds an empty placeholder at its path). Every container
 * made from the snapshot has the script staged again, the same way on every backend.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError } from '../../common/errors';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRepository } from '../store/containers';
import { OVER_LIMIT } from '../store/over-limit';
import type { SnapshotRecord, SnapshotRepository } from '../store/snapshots';
import type { User } from '../store/users';
import type { LocatedContainer } from '../containers/locator';
import { LABELS, SNAPSHOT_REPOSITORY } from '../../common/labels';
import { countQuotaExceeded, type QuotaService } from '../quotas/service';

export interface SnapshotView {
  id: string;
  owner: string;
  name: string | null;
  /** The container it was taken from. */
  container: string;
  image: string;
  size: number;
  node: string | null;
  created: string;
}

/** A snapshot's source command: the script (null without one), its name and the arguments. */
export interface SnapshotCommand {
  script: Buffer | null;
  scriptname: string | null;
  args: string[];
}

export function snapshotView(record: SnapshotRecord): SnapshotView {
  return { id: record.id, owner: record.owner, name: record.name, container: record.containerId, image: record.image, size: record.size, node: record.machineId, created: record.created };
}

export interface SnapshotServiceOptions {
  snapshots: SnapshotRepository;
  containers: ContainerRepository;
  satellites: SatelliteDirectory;
  instanceId: string;
  /** Each owner's snapshot quota. */
  quotas: QuotaService;
}

export class SnapshotService {
  constructor(private readonly options: SnapshotServiceOptions) {}

  /** Commits the (already ownership-checked) container. */
  async take(owner: User, source: LocatedContainer, name: string | null): Promise<SnapshotView> {
    const limit = await this.options.quotas.ensureRoom(owner.username, 'snapshots');
    const id = randomBytes(16).toString('hex');
    const labels = {
      [LABELS.snapshot]: id,
      [LABELS.sourceContainer]: source.view.id,
      [LABELS.owner]: owner.username,
      [LABELS.instance]: this.options.instanceId,
    };
    const committed = await source.satellite.commit(source.container, {
      repo: SNAPSHOT_REPOSITORY,
      tag: id,
      labels,
      comment: `BoatLoad snapshot ${id} of container ${source.view.id}`,
    });
    const request = source.record.request;
    // The commit took a while: the count that decides is taken again with the insert.
    const record = await this.options.snapshots.insertWithinLimit({
      id,
      owner: owner.username,
      containerId: source.view.id,
      name,
      image: `${SNAPSHOT_REPOSITORY}:${id}`,
      imageId: committed.imageId,
      size: committed.size,
      machineId: source.machineId,
      script: await this.options.containers.script(source.record.id),
      scriptname: request.scriptname,
      args: request.container_args,
    }, limit);
    if (record === OVER_LIMIT) {
      await source.satellite.removeImage(`${SNAPSHOT_REPOSITORY}:${id}`).catch(() => undefined);
      throw countQuotaExceeded('snapshots', limit);
    }
    return snapshotView(record);
  }

  /** The record, if the user may see it (someone else's is a 404). */
  async owned(user: User, id: string): Promise<SnapshotRecord> {
    const record = /^[0-9a-f]{32}$/.test(id) ? await this.options.snapshots.find(id) : undefined;
    if (!record || (!user.isAdmin && record.owner !== user.username)) throw new NotFoundError();
    return record;
  }

  /** The command a container made from the (already ownership-checked) snapshot runs by default. */
  async command(record: SnapshotRecord): Promise<SnapshotCommand> {
    return { script: await this.options.snapshots.script(record.id), scriptname: record.scriptname, args: record.args };
  }

  async get(user: User, id: string): Promise<SnapshotView> {
    return snapshotView(await this.owned(user, id));
  }

  async list(user: User): Promise<SnapshotView[]> {
    return (await this.options.snapshots.list(user.isAdmin ? undefined : user.username)).map(snapshotView);
  }

  /** Removes the image and the record; 409 while a container runs from it. */
  async delete(user: User, id: string): Promise<void> {
    const record = await this.owned(user, id);
    const users = (await this.options.containers.list()).filter((c) => c.request.snapshot === record.id).map((c) => c.id);
    if (users.length) throw new ConflictError(`The snapshot is in use by container(s) ${users.join(', ')}; delete them first.`);
    await this.options.satellites.forMachine(record.machineId).removeImage(record.image);
    await this.options.snapshots.delete(record.id);
  }

  async deleteOwnedBy(username: string): Promise<void> {
    for (const record of await this.options.snapshots.list(username)) {
      await this.options.satellites.forMachine(record.machineId).removeImage(record.image).catch(() => undefined);
      await this.options.snapshots.delete(record.id);
    }
  }
}
