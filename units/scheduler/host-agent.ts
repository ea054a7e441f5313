import type {
  ContainerInspection,
  ContainerSummary,
  CreateContainerRequest,
  MachineInfo,
} from '../../common/satellite-protocol';

/** A Docker host as the scheduler's backends see it: the satellite on that host. */
export interface HostAgent {
  machine(): Promise<MachineInfo>;
  /** Creates the container and stages its files; it is not started. Returns its inspection. */
  create(request: CreateContainerRequest): Promise<ContainerInspection>;
  /** Starts the container (one already running is fine); returns its inspection after the start. */
  start(name: string): Promise<ContainerInspection>;
  stop(name: string, timeoutSeconds: number): Promise<void>;
  /** Removes the container; one that is already gone is not an error. */
  remove(name: string): Promise<void>;
  /** null when the engine has no such container. */
  inspect(name: string): Promise<ContainerInspection | null>;
  list(labelFilters: string[]): Promise<ContainerSummary[]>;
}
