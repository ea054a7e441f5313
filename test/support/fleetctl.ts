/**
 * What the real `fleetctl` (v1.0, API driver) sends, command by command, as recorded in
 * shared/notes/fleet-v1-api.md: `?alt=json` on every request, google-api-go-client's User-Agent,
 * PUT bodies as JSON ending with a newline, polling every 250 ms. The real binary cannot be
 * built or downloaded here, so the end-to-end tests drive the API with this instead.
 */
import { parseUnitFile, serializeUnit, unitHash, type UnitOption } from '../../units/unit-file';
import { templateOf } from '../../units/unit-name';
import type { FleetResponse, FleetTransport } from './fleet-http';

interface Unit {
  name: string;
  options?: UnitOption[];
  desiredState?: string;
  currentState?: string;
  machineID?: string;
  reason?: string;
}

interface UnitState {
  name: string;
  hash?: string;
  machineID?: string;
  systemdLoadState?: string;
  systemdActiveState?: string;
  systemdSubState?: string;
}

interface Machine {
  id: string;
  primaryIP?: string;
  metadata?: Record<string, string>;
}

export interface FleetctlOptions {
  transport: FleetTransport;
  /** The endpoint's path prefix (`--endpoint http://host/prefix`); fleetctl appends fleet/v1/. */
  prefix?: string;
  /** Unit files fleetctl would find on disk, by name. */
  files?: Record<string, string>;
  /** How long a polling loop may run before the emulator gives up (fleetctl waits forever). */
  pollTimeoutMs?: number;
}

export class FleetctlError extends Error {
  constructor(readonly response: FleetResponse) {
    const error = (response.body as { error?: { code: number; message: string } } | undefined)?.error;
    super(error ? `googleapi: Error ${error.code}: ${error.message}` : `HTTP ${response.status}: ${response.text}`);
  }
}

const isGlobal = (unit: Unit): boolean =>
  (unit.options ?? []).some((o) => o.section === 'X-Fleet' && o.name === 'Global' && ['true', 'yes', '1', 'on', 't'].includes(o.value.toLowerCase()));

export class Fleetctl {
  /** Every request, as `METHOD /fleet/v1/path` (without the query), in order. */
  readonly log: string[] = [];

  constructor(private readonly options: FleetctlOptions) {}

  private async call(method: string, path: string, body?: unknown): Promise<FleetResponse> {
    const base = `${this.options.prefix ?? ''}/fleet/v1/`;
    const separator = path.includes('?') ? '&' : '?';
    this.log.push(`${method} ${base}${path.split('?')[0]}`);
    const headers: Record<string, string> = { 'User-Agent': 'google-api-go-client/0.5' };
    let text: string | undefined;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      text = `${JSON.stringify(body)}\n`;
    }
    return this.options.transport({ method, path: `${base}${path}${separator}alt=json`, headers, body: text });
  }

  private async expectOk(method: string, path: string, body?: unknown): Promise<FleetResponse> {
    const res = await this.call(method, path, body);
    if (res.status >= 300) throw new FleetctlError(res);
    return res;
  }

  async getUnit(name: string): Promise<Unit | null> {
    const res = await this.call('GET', `units/${encodeURIComponent(name)}`);
    if (res.status === 404) return null;
    if (res.status !== 200) throw new FleetctlError(res);
    return res.body as Unit;
  }

  private async allPages<T>(path: string, key: string): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const res = await this.expectOk('GET', token ? `${path}?nextPageToken=${encodeURIComponent(token)}` : path);
      const page = res.body as Record<string, unknown>;
      items.push(...((page[key] as T[] | undefined) ?? []));
      token = page.nextPageToken as string | undefined;
    } while (token);
    return items;
  }

  units(): Promise<Unit[]> {
    return this.allPages<Unit>('units', 'units');
  }

  states(): Promise<UnitState[]> {
    return this.allPages<UnitState>('state', 'states');
  }

  machines(): Promise<Machine[]> {
    return this.allPages<Machine>('machines', 'machines');
  }

  /** fleetctl's assertUnitState loop: Global units are judged by desiredState, others by currentState. */
  private async waitFor(name: string, state: string): Promise<Unit> {
    const deadline = Date.now() + (this.options.pollTimeoutMs ?? 20000);
    for (;;) {
      const unit = await this.getUnit(name);
      if (unit && (isGlobal(unit) ? unit.desiredState : unit.currentState) === state) return unit;
      if (Date.now() > deadline) throw new Error(`fleetctl would still be waiting: ${name} is ${JSON.stringify(unit)}, not ${state}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** The options fleetctl submits for `name`: its file, or a copy of its template's options. */
  private async optionsFor(name: string): Promise<UnitOption[]> {
    const file = this.options.files?.[name];
    if (file !== undefined) return parseUnitFile(file);
    const template = templateOf(name);
    const templateFile = template ? this.options.files?.[template] : undefined;
    if (templateFile !== undefined) return parseUnitFile(templateFile);
    const stored = template ? await this.getUnit(template) : null;
    if (!stored?.options) throw new Error(`unable to find unit file or template for ${name}`);
    return stored.options;
  }

  /** `fleetctl submit NAME`: GET unit, PUT options (no desiredState), poll until inactive. */
  async submit(name: string): Promise<void> {
    const existing = await this.getUnit(name);
    if (existing) return;
    const options = await this.optionsFor(name);
    await this.expectOk('PUT', `units/${encodeURIComponent(name)}`, { name, options });
    await this.waitFor(name, 'inactive');
  }

  private async setState(name: string, desiredState: string): Promise<Unit> {
    await this.expectOk('PUT', `units/${encodeURIComponent(name)}`, { desiredState, name });
    return this.waitFor(name, desiredState);
  }

  /** `fleetctl load NAME`. */
  async load(name: string): Promise<Unit> {
    await this.submit(name);
    return this.setState(name, 'loaded');
  }

  /** `fleetctl start NAME`: then GET /state/NAME, which must answer within ~2 s (a 404 crashes v1.0). */
  async start(name: string): Promise<UnitState> {
    await this.submit(name);
    await this.setState(name, 'launched');
    const deadline = Date.now() + 2000;
    for (;;) {
      const res = await this.call('GET', `state/${encodeURIComponent(name)}`);
      if (res.status === 404) throw new Error(`fleetctl v1.0 would crash: GET /state/${name} is a 404`);
      const state = res.body as UnitState;
      if (state.systemdLoadState === 'loaded' && state.systemdActiveState === 'active') return state;
      if (Date.now() > deadline) throw new Error(`${name} is not active within 2 s: ${JSON.stringify(state)}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** `fleetctl stop NAME`: GET /units, PUT loaded, poll. */
  async stop(name: string): Promise<Unit> {
    await this.units();
    return this.setState(name, 'loaded');
  }

  /** `fleetctl unload NAME`: GET /units, PUT inactive, poll. */
  async unload(name: string): Promise<Unit> {
    await this.units();
    return this.setState(name, 'inactive');
  }

  /** `fleetctl destroy NAME`: GET /units, DELETE. */
  async destroy(name: string): Promise<void> {
    await this.units();
    await this.expectOk('DELETE', `units/${encodeURIComponent(name)}`);
  }

  /** `fleetctl list-units`: GET /state then GET /machines; one row per state. */
  async listUnits(): Promise<Array<{ unit: string; machine: string; active: string; sub: string }>> {
    const states = await this.states();
    const machines = await this.machines();
    return states.map((state) => {
      const machine = machines.find((m) => m.id === state.machineID);
      return { unit: state.name, machine: `${(state.machineID ?? '').slice(0, 8)}/${machine?.primaryIP ?? '-'}`, active: state.systemdActiveState ?? '-', sub: state.systemdSubState ?? '-' };
    });
  }

  /** `fleetctl list-unit-files`: GET /units then GET /machines. */
  async listUnitFiles(): Promise<Array<{ unit: string; hash: string; dstate: string; state: string; target: string }>> {
    const units = await this.units();
    const machines = await this.machines();
    return units.map((unit) => {
      const machine = machines.find((m) => m.id === unit.machineID);
      return {
        unit: unit.name,
        hash: unitHash(unit.options ?? []).slice(0, 7),
        dstate: unit.desiredState ?? '-',
        state: isGlobal(unit) ? '-' : (unit.currentState ?? '-'),
        target: isGlobal(unit) ? 'global' : machine ? `${machine.id.slice(0, 8)}/${machine.primaryIP ?? ''}` : '-',
      };
    });
  }

  /** `fleetctl list-machines --full`. */
  async listMachines(): Promise<Machine[]> {
    return this.machines();
  }

  /** `fleetctl cat NAME`: the unit's options, serialized. */
  async cat(name: string): Promise<string> {
    const unit = await this.getUnit(name);
    if (!unit) throw new Error(`unit ${name} not found`);
    return serializeUnit(unit.options ?? []);
  }
}
