/**
 * Resolves a container id for a caller, with the same ownership rule as /v1/container/
 * (someone else's container is a 404; admins see all), and finds where its engine container is
 * now: the satellite of that machine and the container's name there (Scheduler.locate: with the
 * swarm backend, the current task's container on whichever node runs it).
 */
import { ConflictError, HttpError, NotFoundError, ServiceUnavailableError } from '../../common/errors';
import type { UnitRecord } from '../../units/scheduler/model';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { ContainerService } from '../containers/service';
import type { ContainerView } from '../containers/view';
import type { SatelliteClient } from '../satellite/client';
import type { SatelliteDirectory } from '../satellite/directory';
import type { User } from '../store/users';

export interface OwnedContainer {
  view: ContainerView;
  unit: UnitRecord;
  /** The machine that holds the engine container, and its satellite. */
  machineId: string | null;
  satellite: SatelliteClient;
  /** The engine's name (or id) for the container on that machine. */
  container: string;
}

export interface ContainerAccessOptions {
  containers: ContainerService;
  scheduler: Scheduler;
  satellites: SatelliteDirectory;
}

export class ContainerAccess {
  constructor(private readonly options: ContainerAccessOptions) {}

  /** The caller's container record (404 otherwise), without asking any machine. */
  check(user: User, id: string): ContainerView {
    return this.options.containers.get(user, id);
  }

  /** The caller's container (404 otherwise) and where its engine container is now. */
  async resolve(user: User, id: string): Promise<OwnedContainer> {
    const view = this.check(user, id);
    if (!this.options.scheduler.get(view.unit)) throw new NotFoundError();
    const { unit, location } = await this.options.scheduler.locate(view.unit);
    if (location.problem) throw new ServiceUnavailableError(location.problem);
    if (location.container === null) throw new ConflictError(`The container is not running (status ${view.status}; it is on no machine yet).`);
    return { view, unit, machineId: location.machineId, satellite: this.options.satellites.forMachine(location.machineId), container: location.container };
  }

  /** A fresh view: the engine is asked, and the scheduler records what it says. */
  async refresh(user: User, owned: OwnedContainer): Promise<OwnedContainer> {
    const { scheduler } = this.options;
    const { location } = await scheduler.locate(owned.unit.name);
    // A backend that observed the unit itself (swarm tasks) knows more than an inspection would.
    if (!location.observed && location.container !== null && location.problem === null) {
      const inspection = await this.options.satellites.forMachine(location.machineId).inspect(location.container);
      scheduler.recordInspection(owned.unit.name, inspection);
    }
    return this.resolve(user, owned.view.id);
  }

  /**
   * Runs a satellite call that needs the engine container: the engine not having it (a lost
   * container) is a 409 about the container, never a 404 that would look like "not yours".
   */
  async onEngine<T>(owned: OwnedContainer, call: (satellite: SatelliteClient, container: string) => Promise<T>): Promise<T> {
    try {
      return await call(owned.satellite, owned.container);
    } catch (err) {
      if (err instanceof HttpError && err.status === 404) {
        throw new ConflictError(`The container is not running (status ${owned.view.status}; the engine has no container for it).`);
      }
      throw err;
    }
  }
}
