/** The JSON shapes of /v1/container/ answers. */
import type { PublishedPort } from '../../common/satellite-protocol';
import type { EngineObservation, UnitRecord } from '../../units/scheduler/model';
import { containerStatusOf, type ContainerStatus } from '../../units/scheduler/unit-status';
import type { ContainerListing, ContainerRecord } from '../store/containers';
import type { NetworkMode } from '../../common/network-model';

export interface ContainerSummaryView {
  id: string;
  image: string;
  owner: string;
  node: string | null;
  unit: string;
  created: string;
  status: ContainerStatus;
  exit_code: number | null;
  reason: string | null;
  /** When the reaper removes it (ISO 8601 UTC); null: it lives until deleted. */
  expires_at: string | null;
  /** Its DNS label among the owner's containers (null: none). */
  hostname: string | null;
  /** none, private or internet; null for containers made before network modes existed. */
  network: NetworkMode | null;
  /** Each exposed port and where it is reached now (null until the engine published it). */
  ports: PortView[];
}

/** An exposed port: host_ip:host_port reaches it from other machines (null while not published). */
export interface PortView {
  port: number;
  protocol: 'tcp' | 'udp';
  host_ip: string | null;
  host_port: number | null;
}

/** The asked-for ports, in the request's order, each with where the engine published it now. */
export function portViews(requested: ContainerRecord['request']['ports'], published: readonly PublishedPort[] | undefined): PortView[] {
  return (requested ?? []).map(({ port, protocol }) => {
    const found = published?.find((p) => p.port === port && p.protocol === protocol);
    return { port, protocol, host_ip: found?.host_ip ?? null, host_port: found?.host_port ?? null };
  });
}

export interface ContainerView extends ContainerSummaryView {
  permanent: boolean;
  scriptname: string | null;
  scripturl: string | null;
  dataurl: string | null;
  datapath: string | null;
  container_args: string[];
  env: Record<string, string>;
  snapshot: string | null;
  volumes: Array<{ volume: string; path: string; readonly: boolean }>;
  /** The lifetime it got, in seconds (null: none). */
  ttl: number | null;
  /** Links as asked for: alias → container id. */
  links: Record<string, string>;
}

interface UnitFacts {
  desiredState: UnitRecord['desiredState'];
  observed: EngineObservation | null;
  reason: string | null;
  everStarted: boolean;
  machineId: string | null;
}

function summary(record: ContainerRecord, unit: UnitFacts): ContainerSummaryView {
  const status = containerStatusOf(unit);
  return {
    id: record.id,
    image: record.image,
    owner: record.owner,
    node: unit.machineId,
    unit: record.unitName,
    created: record.created,
    status,
    exit_code: unit.observed?.exitCode ?? null,
    reason: status === 'error' || status === 'lost' ? (unit.reason ?? unit.observed?.error ?? null) : null,
    expires_at: record.expiresAt,
    hostname: record.request.hostname ?? null,
    network: record.request.network ?? null,
    ports: portViews(record.request.ports, unit.observed?.ports),
  };
}

export function containerSummaryView(listing: ContainerListing): ContainerSummaryView {
  return summary(listing, {
    desiredState: listing.unit.desiredState as UnitRecord['desiredState'],
    observed: listing.unit.observed === null ? null : (JSON.parse(listing.unit.observed) as EngineObservation),
    reason: listing.unit.reason,
    everStarted: listing.unit.everStarted,
    machineId: listing.unit.machineId,
  });
}

export function containerView(record: ContainerRecord, unit: UnitRecord): ContainerView {
  const request = record.request;
  return {
    ...summary(record, unit),
    permanent: request.permanent,
    scriptname: request.scriptname,
    scripturl: request.scripturl,
    dataurl: request.dataurl,
    datapath: request.datapath,
    container_args: request.container_args,
    env: request.env,
    snapshot: request.snapshot ?? null,
    volumes: request.volumes ?? [],
    ttl: request.ttl ?? null,
    links: request.links ?? {},
  };
}
