/**
 * The fleet v1 unit API over the scheduler: units (list, get, PUT with fleet's rules, DELETE),
 * their per-machine states, and the machines. Routes stay thin; every rule lives here.
 *
 * PUT answers after the convergence it asked for has finished. A convergence that fails is not an
 * HTTP error (fleet accepted the desired state too): the unit keeps its currentState and its
 * `reason` says why. A unit that backs a /v1/container/ record may change state here, but not its
 * options; deleting it deletes the container record too.
 */
import type { ContainerSpec } from '../../common/container-spec';
import { BadRequestError, ConflictError, NotFoundError } from '../../common/errors';
import type { Logger } from '../../common/logger';
import { containerSpecFromUnit, UnitSpecError } from '../../units/container-unit';
import { validateFleetOptions } from '../../units/fleet-options';
import { pageFromWindow, pageWindow, PageTokenError, type Page, type PageWindow } from '../../units/pagination';
import { UNIT_STATES, type UnitState } from '../../units/scheduler/model';
import type { Scheduler } from '../../units/scheduler/scheduler';
import { unitHash, type UnitOption } from '../../units/unit-file';
import { unitPolicyProblem, type UnitPolicy } from '../../units/unit-policy';
import { isTemplateName, unitNameParts, unitNameProblem } from '../../units/unit-name';
import type { ContainerRepository } from '../store/containers';
import type { MachineRegistry } from './machines';
import type { MachineMetadataOp, UnitPutBody } from './requests';
import {
  fleetMachineOf,
  fleetUnitOf,
  fleetUnitStateOf,
  type FleetMachine,
  type FleetPage,
  type FleetUnit,
  type FleetUnitState,
} from './schema';

export interface FleetUnitServiceOptions {
  scheduler: Scheduler;
  machines: MachineRegistry;
  /** The /v1/container/ records: deleting a container's unit deletes its record too. */
  containerRecords: Pick<ContainerRepository, 'delete'>;
  /** What a submitted unit's container may take from its host; anything more is a 400. */
  unitPolicy: UnitPolicy;
  logger: Logger;
}

export interface PutUnitInput {
  /** The name from the URL (decoded). */
  name: string;
  body: UnitPutBody;
}

/** 201 (created or replaced) or 204 (desired state changed). */
export type PutOutcome = 'created' | 'updated';

export interface StateQuery {
  machineID?: string;
  unitName?: string;
  pageToken?: string;
}

/** The window a page token asks for; a bad token is a 400. */
function windowOf(token: string | undefined): PageWindow {
  try {
    return pageWindow(token);
  } catch (err) {
    if (err instanceof PageTokenError) throw new BadRequestError(`invalid nextPageToken: ${err.message}`);
    throw err;
  }
}

/** A page under `key` in fleet's shape: empty fields left out. */
function answerOf<K extends string, T>(key: K, page: Page<T>): FleetPage<K, T> {
  const answer = {} as FleetPage<K, T>;
  if (page.page.length > 0) (answer as Record<string, T[]>)[key] = page.page;
  if (page.nextPageToken !== undefined) answer.nextPageToken = page.nextPageToken;
  return answer;
}

/** One page of `items` under `key`, fleet's page token rules; a bad token is a 400. */
function pageOf<K extends string, T>(key: K, items: readonly T[], token: string | undefined): FleetPage<K, T> {
  const window = windowOf(token);
  return answerOf(key, pageFromWindow(window, items.slice(window.offset, window.offset + window.limit + 1)));
}

function parseDesiredState(text: string): UnitState {
  if (!(UNIT_STATES as readonly string[]).includes(text)) {
    throw new BadRequestError(`invalid desiredState "${text}": expect ${UNIT_STATES.join(', ')}`);
  }
  return text as UnitState;
}

const unitMissing = (): NotFoundError => new NotFoundError('unit does not exist');

export class FleetUnitService {
  constructor(private readonly options: FleetUnitServiceOptions) {}

  private get scheduler(): Scheduler {
    return this.options.scheduler;
  }

  /** Units sorted by name; the store reads only the page asked for. */
  async listUnits(pageToken?: string): Promise<FleetPage<'units', FleetUnit>> {
    const window = windowOf(pageToken);
    const units = await this.scheduler.page({ offset: window.offset, limit: window.limit + 1 });
    return answerOf('units', pageFromWindow(window, units.map(fleetUnitOf)));
  }

  async getUnit(name: string): Promise<FleetUnit> {
    const unit = await this.scheduler.get(name);
    if (!unit) throw unitMissing();
    return fleetUnitOf(unit);
  }

  /** fleet's PUT rules, in order (see the fleet v1 note). */
  async putUnit(input: PutUnitInput): Promise<PutOutcome> {
    const { name, body } = input;
    if (body.name !== undefined && body.name !== '' && body.name !== name) {
      throw new BadRequestError(`name in URL "${name}" differs from unit name in request body "${body.name}"`);
    }
    const nameProblem = unitNameProblem(name);
    if (nameProblem) throw new BadRequestError(nameProblem);
    const options = body.options ?? [];
    const desired = body.desiredState === undefined || body.desiredState === '' ? undefined : body.desiredState;
    const existing = await this.scheduler.get(name);

    if (!existing) {
      if (options.length === 0) throw new ConflictError('unit does not exist and options field empty');
      await this.create(name, options, desired);
      return 'created';
    }
    if (options.length > 0 && unitHash(options) !== existing.hash) {
      if (existing.containerId) {
        throw new ConflictError(`unit ${name} runs BoatLoad container ${existing.containerId}; change it through /v1/container/, not its unit file`);
      }
      await this.replace(name, options, desired);
      return 'created';
    }
    if (desired === undefined) throw new ConflictError('must provide DesiredState to update existing unit');
    const state = parseDesiredState(desired);
    if (isTemplateName(name) && state !== 'inactive') throw new BadRequestError(`cannot activate template ${name}`);
    await this.settle(this.scheduler.setDesiredState(name, state));
    if (state === 'inactive') this.scheduler.replanLater();
    return 'updated';
  }

  private async create(name: string, options: UnitOption[], desired: string | undefined): Promise<void> {
    const engineName = await this.checkedEngineName(name, options);
    const desiredState = this.checkedInitialState(name, desired);
    await this.scheduler.add({ name, options, hash: unitHash(options), desiredState, engineName });
    if (desiredState !== 'inactive') await this.settle(this.scheduler.converge(name));
  }

  /** A changed unit file: the old container goes, the unit starts over (default `inactive`, as new). */
  private async replace(name: string, options: UnitOption[], desired: string | undefined): Promise<void> {
    const engineName = await this.checkedEngineName(name, options);
    const desiredState = this.checkedInitialState(name, desired);
    await this.scheduler.replace(name, { options, hash: unitHash(options), engineName, desiredState });
    this.scheduler.replanLater();
    if (desiredState !== 'inactive') await this.settle(this.scheduler.converge(name));
  }

  private checkedInitialState(name: string, desired: string | undefined): UnitState {
    const state = desired === undefined ? 'inactive' : parseDesiredState(desired);
    if (isTemplateName(name) && state !== 'inactive') throw new BadRequestError(`cannot activate template ${name}`);
    return state;
  }

  /**
   * Validates options as fleet does, then as BoatLoad must (units describe containers: a
   * `docker run` ExecStart, docker aux commands only, nothing from the host the unit policy does
   * not allow), and returns the engine's container name
   * ('' for templates, which never run). A container name another unit uses is a 409.
   */
  private async checkedEngineName(name: string, options: UnitOption[]): Promise<string> {
    const problem = validateFleetOptions(options, name);
    if (problem) throw new BadRequestError(problem);
    if (unitNameParts(name).suffix !== 'service') {
      throw new BadRequestError(`only .service units are supported (units describe containers), not ${name}`);
    }
    if (isTemplateName(name)) return '';
    let spec: ContainerSpec;
    try {
      spec = containerSpecFromUnit(options, name);
    } catch (err) {
      if (err instanceof UnitSpecError) throw new BadRequestError(err.message);
      throw err;
    }
    const policyProblem = unitPolicyProblem(spec, this.options.unitPolicy);
    if (policyProblem) throw new BadRequestError(`ExecStart: ${policyProblem}`);
    const containerName = spec.name;
    const clash = await this.scheduler.unitUsingEngineName(containerName, name);
    if (clash !== undefined) throw new ConflictError(`container name "${containerName}" is already used by unit ${clash}`);
    return containerName;
  }

  /** Waits for a convergence; its failure is already recorded on the unit as `reason`. */
  private async settle(convergence: Promise<unknown>): Promise<void> {
    try {
      await convergence;
    } catch (err) {
      this.options.logger.debug(`convergence failed: ${(err as Error).message}`);
    }
  }

  /** Removes the unit and its container; a container unit's /v1/container/ record goes too. */
  async deleteUnit(name: string): Promise<void> {
    const unit = await this.scheduler.get(name);
    if (!unit) throw unitMissing();
    await this.scheduler.destroy(name);
    if (unit.containerId) await this.options.containerRecords.delete(unit.containerId);
    this.scheduler.replanLater();
  }

  /**
   * States sorted by unit name, then machine (one machine per unit); filtered by exact machineID
   * and unitName. The store reads only the page asked for, of the units that have a state.
   */
  async listStates(query: StateQuery): Promise<FleetPage<'states', FleetUnitState>> {
    const window = windowOf(query.pageToken);
    const units = await this.scheduler.page({
      offset: window.offset,
      limit: window.limit + 1,
      withSystemdState: true,
      machineId: query.machineID,
      name: query.unitName,
    });
    const states = units.map(fleetUnitStateOf).filter((state): state is FleetUnitState => state !== null);
    return answerOf('states', pageFromWindow(window, states));
  }

  async getState(name: string): Promise<FleetUnitState> {
    const unit = await this.scheduler.get(name);
    const state = unit && fleetUnitStateOf(unit);
    if (!state) throw new NotFoundError('unit state does not exist');
    return state;
  }

  async listMachines(pageToken?: string): Promise<FleetPage<'machines', FleetMachine>> {
    const machines = await this.options.machines.list();
    return pageOf('machines', machines.map(fleetMachineOf), pageToken);
  }

  /** Applies metadata edits, then places the units that were waiting for such a machine. */
  async patchMachines(ops: readonly MachineMetadataOp[]): Promise<void> {
    await this.options.machines.patch(ops);
    await this.scheduler.replan();
  }
}
