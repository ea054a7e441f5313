/**
 * The machines of the cluster as the fleet API and placement see them: the backend's machines
 * (the hosts that run a satellite) with metadata edits from PATCH /machines layered on top.
 * Edits live in the store, so they survive restarts.
 */
import { BadRequestError } from '../../common/errors';
import type { Machine } from '../../units/placement';
import type { MachineMetadataRepository } from '../store/machine-metadata';
import type { MachineMetadataOp } from './requests';

export interface MachineRegistryOptions {
  /** The backend's own view (SchedulerBackend.machines). */
  source: () => Promise<Machine[]>;
  edits: MachineMetadataRepository;
}

export class MachineRegistry {
  constructor(private readonly options: MachineRegistryOptions) {}

  /** Every machine, sorted by id, with edited metadata. */
  async list(): Promise<Machine[]> {
    const machines = await this.options.source();
    const edited = await Promise.all(machines.map(async (machine) => ({ ...machine, metadata: this.editedMetadata(machine, await this.options.edits.editsFor(machine.id)) })));
    return edited
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  private editedMetadata(machine: Machine, edits: Map<string, string | null>): Record<string, string> {
    const metadata: Record<string, string> = { ...machine.metadata };
    for (const [key, value] of edits) {
      if (value === null) delete metadata[key];
      // defineProperty: a key such as `__proto__` stays an ordinary key.
      else Object.defineProperty(metadata, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return metadata;
  }

  /** Applies checked operations, all or none; an unknown machine id is a 400. */
  async patch(ops: readonly MachineMetadataOp[]): Promise<void> {
    const known = new Set((await this.options.source()).map((machine) => machine.id));
    const unknown = ops.find((op) => !known.has(op.machineId));
    if (unknown) throw new BadRequestError(`machine ${unknown.machineId} does not exist`);
    await this.options.edits.apply(ops.map((op) => ({ machineId: op.machineId, key: op.key, value: op.value })));
  }
}
