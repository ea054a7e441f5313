/**
 * Finds a caller's container and where its engine container is now. One rule for every route:
 * someone else's container is a 404 (admins see all); a container of yours that is on no machine
 * yet, or that the engine no longer has, is a 409 about the container; a machine that cannot be
 * asked is a 503. With the swarm backend the location is the current task's container, on
 * whichever node runs it (Scheduler.locate).
 */
import { ConflictError, HttpError, NotFoundError, ServiceUnavailableError } from '../../common/errors';
import type { UnitRecord } from '../../units/scheduler/model';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { SatelliteClient } from '../satellite/client';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRecord, ContainerRepository } from '../store/containers';
import type { User } from '../store/users';
import { containerView, type ContainerView } from './view';

/** A container record the caller may see, with its unit. */
export interface OwnedRecord {
  record: ContainerRecord;
  unit: UnitRecord;
}

export interface LocatedContainer extends OwnedRecord {
  view: ContainerView;
  /** The machine that holds the engine container, and its satellite. */
  machineId: string | null;
  satellite: SatelliteClient;
  /** The engine's name (or id) for the container on that machine. */
  container: string;
}

export interface ContainerLocatorOptions {
  containers: ContainerRepository;
  scheduler: Scheduler;
  satellites: SatelliteDirectory;
}

export class ContainerLocator {
  constructor(private readonly options: ContainerLocatorOptions) {}

  /** The record, if the user may see it: someone else's container is a 404, not a 403. */
  async owned(user: User, id: string): Promise<OwnedRecord> {
    const record = /^[0-9a-f]{32}$/.test(id) ? await this.options.containers.find(id) : undefined;
    if (!record || (!user.isAdmin && record.owner !== user.username)) throw new NotFoundError();
    const unit = await this.options.scheduler.get(record.unitName);
    if (!unit) throw new NotFoundError();
    return { record, unit };
  }

  /** The caller's container (404 otherwise) and where its engine container is now. */
  async locate(user: User, id: string): Promise<LocatedContainer> {
    const { record } = await this.owned(user, id);
    const { unit, location } = await this.options.scheduler.locate(record.unitName);
    const view = containerView(record, unit);
    if (location.problem) throw new ServiceUnavailableError(location.problem);
    if (location.container === null) throw new ConflictError(`The container is not running (status ${view.status}; it is on no machine yet).`);
    return { record, unit, view, machineId: location.machineId, satellite: this.options.satellites.forMachine(location.machineId), container: location.container };
  }

  /** Located again after the engine is asked, and the scheduler records what it says. */
  async refresh(user: User, located: LocatedContainer): Promise<LocatedContainer> {
    const { scheduler } = this.options;
    const { location } = await scheduler.locate(located.unit.name);
    // A backend that observed the unit itself (swarm tasks) knows more than an inspection would.
    if (!location.observed && location.container !== null && location.problem === null) {
      const inspection = await this.options.satellites.forMachine(location.machineId).inspect(location.container);
      await scheduler.recordInspection(located.unit.name, inspection);
    }
    return this.locate(user, located.record.id);
  }

  /**
   * Runs a satellite call that needs the engine container: the engine not having it (a lost
   * container) is a 409 about the container, never a 404 that would look like "not yours".
   */
  async onEngine<T>(located: LocatedContainer, call: (satellite: SatelliteClient, container: string) => Promise<T>): Promise<T> {
    try {
      return await call(located.satellite, located.container);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) {
        throw new ConflictError(`The container is not running (status ${located.view.status}; the engine has no container for it).`);
      }
      throw err;
    }
  }
}
