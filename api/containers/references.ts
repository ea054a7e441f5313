/**
 * References from one container to another of the same owner: `links` (docker-link style
 * variables and a host name) and templated env values (`#<id>.ip`, `#<id>.port`,
 * `#<id>.port.<n>`, `##` for a literal `#`), BoatLoad's "#Containerid.port". Both resolve to
 * where the target is reached now: its machine's advertised address and the host ports the
 * engine published (the same address other machines use, so it holds on both backends and across
 * nodes). Resolved at create and again whenever the scheduler builds the container afresh
 * (workloads.ts), so a target that moved is followed.
 */
import { ConflictError, NotFoundError, ValidationError } from '../../common/errors';
import type { UnitRecord } from '../../units/scheduler/model';
import type { ContainerRecord, ContainerRepository } from '../store/containers';
import type { User } from '../store/users';
import { portViews, type PortView } from './view';

/** A container a reference points at, and where it is reached now. */
export interface ReferenceTarget {
  id: string;
  /** Its ports in the order it asked for them; host_ip/host_port null while not published. */
  ports: PortView[];
  /** Its machine's advertised address (null while it is on no machine). */
  ip: string | null;
}

/** What the references of a request add to its container. */
export interface ResolvedReferences {
  /** Link variables, then the request's own env with its templates filled in (the request wins). */
  env: Record<string, string>;
  /** Host names for `/etc/hosts`: each link alias → its target's address. */
  hosts: Array<{ name: string; ip: string }>;
}

/** `##`, or `#<ref>.ip`, `#<ref>.port`, `#<ref>.port.<n>` (a ref is a container id; later a host name). */
const TEMPLATE = /##|#([A-Za-z0-9][A-Za-z0-9-]{0,62})\.(ip|port)(?:\.(\d{1,5}))?/g;

/** The container references in one env value (a `##` is none). */
export function templateReferences(value: string): string[] {
  return [...value.matchAll(TEMPLATE)].filter((m) => m[0] !== '##').map((m) => m[1]);
}

/** Every container a request (or a stored record's request) refers to. */
export function referencesOf(request: { env: Record<string, string>; links?: Record<string, string> }): string[] {
  return [...new Set([...Object.values(request.links ?? {}), ...Object.values(request.env).flatMap(templateReferences)])];
}

/**
 * Whether following references from `start` reaches one of `self` (the new container's id, and
 * later its host name): a cycle no order of creation could resolve.
 */
export function reachesSelf(start: readonly string[], self: ReadonlySet<string>, referencesFrom: (ref: string) => readonly string[]): boolean {
  const seen = new Set<string>();
  const pending = [...start];
  for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
    if (self.has(ref)) return true;
    if (seen.has(ref)) continue;
    seen.add(ref);
    pending.push(...referencesFrom(ref));
  }
  return false;
}

/** `db-1` → `DB_1`: the variable prefix docker uses for a link alias. */
const prefixOf = (alias: string): string => alias.toUpperCase().replace(/-/g, '_');

export interface ContainerReferencesOptions {
  containers: ContainerRepository;
  unitOf: (unitName: string) => Promise<UnitRecord | undefined>;
  /** Each machine's advertised address, by machine id. */
  machineAddresses: () => Promise<Map<string, string>>;
  /** Reads the target's state from its engine again (its ports are published when it starts). */
  refresh: (owner: User, id: string) => Promise<void>;
}

export class ContainerReferences {
  constructor(private readonly options: ContainerReferencesOptions) {}

  /**
   * The one place a reference becomes a container: today a container id (a host name lookup goes
   * here too). Someone else's container is a 404, as everywhere; one that does not exist (deleted)
   * is a 400 naming `field`.
   */
  private async recordFor(owner: User, ref: string, field: string): Promise<ContainerRecord> {
    const record = /^[0-9a-f]{32}$/.test(ref) ? await this.options.containers.find(ref) : undefined;
    if (!record) throw fieldError(field, `there is no container "${ref}" (deleted, or never created).`);
    if (!owner.isAdmin && record.owner !== owner.username) throw new NotFoundError();
    return record;
  }

  private async targetOf(record: ContainerRecord, addresses: Map<string, string>): Promise<ReferenceTarget> {
    const unit = await this.options.unitOf(record.unitName);
    const ports = portViews(record.request.ports, unit?.observed?.ports);
    const machineIp = unit?.machineId ? (addresses.get(unit.machineId) ?? null) : null;
    return { id: record.id, ports, ip: ports.find((p) => p.host_ip !== null)?.host_ip ?? machineIp };
  }

  /**
   * Resolves a create's links and env templates. `self` names the new container (its id; later its
   * host name) for the cycle check; `containerName` is the engine name docker-link's `<ALIAS>_NAME`
   * carries. A target that has not published its ports yet is read again from its engine once; if
   * it still has not, that is a 409 (it is not running yet: retry when it runs).
   */
  async resolve(owner: User, input: { env: Record<string, string>; links: Record<string, string>; self: ReadonlySet<string>; containerName: string }): Promise<ResolvedReferences> {
    const fields = new Map<string, string>();
    for (const [alias, ref] of Object.entries(input.links)) fields.set(ref, fields.get(ref) ?? `links.${alias}`);
    for (const [name, value] of Object.entries(input.env)) for (const ref of templateReferences(value)) fields.set(ref, fields.get(ref) ?? `env.${name}`);
    if (fields.size === 0) return this.render(input, new Map(), fields);

    const records = new Map<string, ContainerRecord>();
    for (const [ref, field] of fields) records.set(ref, await this.recordFor(owner, ref, field));
    const stored = await this.storedReferences([...fields.keys()], input.self);
    for (const [ref, field] of fields) {
      if (reachesSelf([ref], input.self, (from) => stored.get(from) ?? [])) throw fieldError(field, `"${ref}" refers back to this container: a reference cycle.`);
    }
    let addresses = await this.options.machineAddresses();
    const targets = new Map<string, ReferenceTarget>();
    for (const [ref, record] of records) {
      let target = await this.targetOf(record, addresses);
      if (target.ports.some((p) => p.host_port === null) || target.ip === null) {
        await this.options.refresh(owner, record.id).catch(() => undefined);
        addresses = await this.options.machineAddresses();
        target = await this.targetOf((await this.options.containers.find(record.id)) ?? record, addresses);
      }
      targets.set(ref, target);
    }
    return this.render(input, targets, fields);
  }

  /**
   * The same resolution from stored values only (no engine reads), for the scheduler building a
   * container again; null when a target is gone or not published (the unit's values then stay).
   */
  async resolveStored(record: ContainerRecord, addresses: Map<string, string>): Promise<ResolvedReferences | null> {
    const request = { env: record.request.env, links: record.request.links ?? {} };
    const refs = referencesOf(request);
    if (refs.length === 0) return null;
    const targets = new Map<string, ReferenceTarget>();
    for (const ref of refs) {
      const target = await this.options.containers.find(ref);
      if (!target || target.owner !== record.owner) return null;
      targets.set(ref, await this.targetOf(target, addresses));
    }
    try {
      return this.render({ ...request, containerName: `boatload-${record.id}` }, targets, new Map());
    } catch {
      return null;
    }
  }

  /**
   * The stored references of every container reachable from `start` (not past `self`), read from the
   * store once each: what reachesSelf follows.
   */
  private async storedReferences(start: readonly string[], self: ReadonlySet<string>): Promise<Map<string, readonly string[]>> {
    const stored = new Map<string, readonly string[]>();
    const pending = [...start];
    for (let ref = pending.pop(); ref !== undefined; ref = pending.pop()) {
      if (self.has(ref) || stored.has(ref)) continue;
      const record = await this.options.containers.find(ref);
      const refs = record ? referencesOf(record.request) : [];
      stored.set(ref, refs);
      pending.push(...refs);
    }
    return stored;
  }

  private render(input: { env: Record<string, string>; links: Record<string, string>; containerName: string }, targets: Map<string, ReferenceTarget>, fields: Map<string, string>): ResolvedReferences {
    const env: Record<string, string> = {};
    const hosts: ResolvedReferences['hosts'] = [];
    const fieldOf = (ref: string, fallback: string): string => fields.get(ref) ?? fallback;
    for (const [alias, ref] of Object.entries(input.links)) {
      const target = targets.get(ref) as ReferenceTarget;
      const field = fieldOf(ref, `links.${alias}`);
      const prefix = prefixOf(alias);
      // docker-link's variables, with the reachable address: the linked container may be on
      // another machine, and its port there is the host port the engine published.
      for (const port of target.ports) {
        if (port.host_ip === null || port.host_port === null) throw notPublished(field, target.id, port);
        const base = `${prefix}_PORT_${port.port}_${port.protocol.toUpperCase()}`;
        env[base] = `${port.protocol}://${port.host_ip}:${port.host_port}`;
        env[`${base}_ADDR`] = port.host_ip;
        env[`${base}_PORT`] = String(port.host_port);
        env[`${base}_PROTO`] = port.protocol;
      }
      const first = target.ports[0];
      if (first) env[`${prefix}_PORT`] = `${first.protocol}://${first.host_ip}:${first.host_port}`;
      env[`${prefix}_NAME`] = `/${input.containerName}/${alias}`;
      if (target.ip === null) throw new ConflictError(`${field}: container ${target.id} is on no machine yet; link to it once it runs.`);
      hosts.push({ name: alias, ip: target.ip });
    }
    for (const [name, value] of Object.entries(input.env)) {
      env[name] = value.replace(TEMPLATE, (whole: string, ref: string, what: string, number?: string) => {
        if (whole === '##') return '#';
        const target = targets.get(ref) as ReferenceTarget;
        const field = fields.get(ref) ?? `env.${name}`;
        if (what === 'ip') {
          if (target.ip === null) throw new ConflictError(`env.${name}: container ${target.id} is on no machine yet; refer to it once it runs.`);
          return target.ip;
        }
        const port = number === undefined ? target.ports[0] : target.ports.find((p) => p.port === Number(number));
        if (!port) {
          const which = number === undefined ? 'exposes no port' : `does not expose port ${number}`;
          throw fieldError(`env.${name}`, `${whole} refers to container ${target.id}, which ${which}.`);
        }
        if (port.host_port === null) throw notPublished(field, target.id, port);
        return String(port.host_port);
      });
    }
    return { env, hosts };
  }
}

/** `links.db` → {"links": ["db: ..."]}: the request's field, naming the link or variable. */
function fieldError(path: string, message: string): ValidationError {
  const dot = path.indexOf('.');
  return ValidationError.field(path.slice(0, dot), `${path.slice(dot + 1)}: ${message}`);
}

function notPublished(field: string, id: string, port: PortView): ConflictError {
  return new ConflictError(`${field}: container ${id} has not published port ${port.port}/${port.protocol} yet (it is not running); retry once it runs.`);
}
