/**
 * What a create request's `snapshot` and `volumes` mean: the snapshot's image, the engine
 * mounts, the machine that holds them (the new container's unit is pinned there), and the
 * snapshot's command (its script is staged again: see snapshots/service.ts). Only the caller's own
 * snapshots and volumes can be named (admins: anyone's, by id).
 */
import { ValidationError } from '../../common/errors';
import type { CreateContainerInput } from './create-request';
import type { CreateAttachments } from './service';
import type { User } from '../store/users';
import type { SnapshotCommand, SnapshotService } from '../snapshots/service';
import type { VolumeService } from '../volumes/service';

export function attachmentsResolver(deps: { snapshots: SnapshotService; volumes: VolumeService }): (owner: User, input: CreateContainerInput) => Promise<CreateAttachments> {
  return async (owner, input) => {
    const machines = new Set<string>();
    let image = input.image;
    let command: SnapshotCommand | undefined;
    if (input.snapshot) {
      let snapshot;
      try {
        snapshot = await deps.snapshots.owned(owner, input.snapshot);
      } catch {
        throw ValidationError.field('snapshot', `There is no snapshot ${input.snapshot}.`);
      }
      image = snapshot.image;
      command = await deps.snapshots.command(snapshot);
      if (snapshot.machineId) machines.add(snapshot.machineId);
    }
    const volumes = [];
    for (const mount of input.volumes) {
      const volume = await deps.volumes.resolve(owner, mount.name);
      if (!volume) throw ValidationError.field('volumes', `There is no volume named "${mount.name}".`);
      if (volume.machineId) machines.add(volume.machineId);
      volumes.push({ volumeId: volume.id, source: volume.engineName, target: mount.path, readonly: mount.readonly });
    }
    if (machines.size > 1) throw ValidationError.field('volumes', 'The snapshot and the volumes are on different machines; a container can use them only on one.');
    const [machineId] = machines;
    return { image, volumes, machineId, command };
  };
}
