/**
 * The sandbox features (issue 7) as one piece of the object graph: readiness, exec, live output,
 * terminals, operations, snapshots, forks, volumes, batch create and the per-concern help. Built
 * in two steps because ContainerService needs the snapshot/volume resolver, and the rest needs
 * ContainerService.
 */
import type { Express, Request, RequestHandler, Router } from 'express';
import type { Logger } from '../../common/logger';
import type { Scheduler } from '../../units/scheduler/scheduler';
import type { SandboxConfig } from '../config';
import type { CreateRequestLimits } from '../containers/create-request';
import type { ContainerService } from '../containers/service';
import type { CreateWaiter } from '../containers/routes';
import type { SatelliteDirectory } from '../satellite/directory';
import type { ContainerRepository } from '../store/containers';
import type { Db } from '../store/database';
import { OperationRepository } from '../store/operations';
import { SnapshotRepository } from '../store/snapshots';
import type { User } from '../store/users';
import { VolumeRepository } from '../store/volumes';
import { ContainerAccess } from './access';
import { attachmentsResolver } from './attachments';
import { ExecService } from './exec';
import { concernHealth } from './health';
import { LifecycleService } from './lifecycle';
import { OperationService } from './operations';
import { timeoutQuery, waitQuery } from './requests';
import { queryToken, sandboxRouters, type SandboxRouters } from './routes';
import { SnapshotService } from './snapshots';
import { TerminalGateway } from './terminal';
import { VolumeService } from './volumes';

export interface SandboxResourceDeps {
  db: Db;
  containers: ContainerRepository;
  satellites: SatelliteDirectory;
  scheduler: Scheduler;
  instanceId: string;
}

export interface SandboxResources {
  snapshots: SnapshotService;
  volumes: VolumeService;
  /** For ContainerService: resolves `snapshot` and `volumes` of create requests. */
  attachments: ReturnType<typeof attachmentsResolver>;
}

export function buildSandboxResources(deps: SandboxResourceDeps): SandboxResources {
  const snapshots = new SnapshotService({ snapshots: new SnapshotRepository(deps.db), containers: deps.containers, satellites: deps.satellites, instanceId: deps.instanceId });
  const volumes = new VolumeService({ volumes: new VolumeRepository(deps.db), containers: deps.containers, satellites: deps.satellites, scheduler: deps.scheduler, instanceId: deps.instanceId });
  return { snapshots, volumes, attachments: attachmentsResolver({ snapshots, volumes }) };
}

export interface SandboxDeps {
  db: Db;
  resources: SandboxResources;
  containers: ContainerService;
  scheduler: Scheduler;
  satellites: SatelliteDirectory;
  limits: SandboxConfig;
  createLimits: CreateRequestLimits;
  logger: Logger;
}

export interface Sandbox {
  operations: OperationService;
  /** `?wait=ready` on POST /v1/container/. */
  createWaiter: CreateWaiter;
  /** Moves `?token=` into the Authorization header for the stream and terminal routes. */
  queryToken: RequestHandler;
  routers: SandboxRouters;
  /** Mounts /v1/volumes, /v1/snapshots, /v1/operations and /v1/units behind `auth`. */
  mount(app: Express, auth: RequestHandler): void;
  /** A user's snapshots, volumes and operations go with the user. */
  deleteOwnedBy(username: string): Promise<void>;
  /** Ends terminals and stops recording operations (API shutdown). */
  close(): void;
}

export function buildSandbox(deps: SandboxDeps): Sandbox {
  const { resources, limits } = deps;
  const access = new ContainerAccess({ containers: deps.containers, scheduler: deps.scheduler, satellites: deps.satellites });
  const operations = new OperationService({ repository: new OperationRepository(deps.db), logger: deps.logger.child('operations') });
  // At API start, nothing can still be running: whatever was, was interrupted.
  operations.failInterrupted();
  const exec = new ExecService({ access, outputMaxBytes: limits.execOutputMaxBytes });
  const lifecycle = new LifecycleService({ access, containers: deps.containers, scheduler: deps.scheduler, operations, snapshots: resources.snapshots, createLimits: deps.createLimits });
  const terminal = new TerminalGateway({ access, logger: deps.logger.child('terminal') });
  const routers = sandboxRouters({
    exec,
    lifecycle,
    operations,
    snapshots: resources.snapshots,
    volumes: resources.volumes,
    terminal,
    limits,
    health: concernHealth({ db: deps.db, satellites: deps.satellites, scheduler: deps.scheduler, operations }),
  });
  const createWaiter: CreateWaiter = {
    parse(req: Request) {
      if (waitQuery(req) !== 'ready') return null;
      const timeout = timeoutQuery(req, 30, limits.waitReadyMaxSeconds);
      return (user: User, created: { id: string }) => exec.waitReady(user, created.id, timeout);
    },
  };
  return {
    operations,
    createWaiter,
    queryToken,
    routers,
    mount(app, auth) {
      const mounts: Array<[string, Router]> = [
        ['/v1/volumes', routers.volumes],
        ['/v1/snapshots', routers.snapshots],
        ['/v1/operations', routers.operations],
        ['/v1/units', routers.units],
      ];
      for (const [path, router] of mounts) app.use(path, auth, router);
    },
    async deleteOwnedBy(username) {
      await resources.snapshots.deleteOwnedBy(username);
      await resources.volumes.deleteOwnedBy(username);
      operations.deleteOwnedBy(username);
    },
    close() {
      terminal.close();
      operations.close();
    },
  };
}
