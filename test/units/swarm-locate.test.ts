/**
 * The Swarm backend's reads when a service is replaced under them: starting a stopped unit removes
 * its service and makes a new one, and a read that listed the old service then asks for its tasks
 * gets Swarm's 404 ("service … not found"). That read is answered from the new service, and an
 * engine that keeps failing is a 503, never a raw error (a 500 in the API).
 */
import type Docker from 'dockerode';
import { silentLogger } from '../../common/logger';
import { SwarmBackend } from '../../units/scheduler/swarm-backend';
import type { UnitRecord } from '../../units/scheduler/model';
import { SwarmNodes } from '../../units/scheduler/swarm-nodes';
import { ServiceUnavailableError } from '../../common/errors';

const NODE = { ID: 'node1id', Spec: { Role: 'manager', Availability: 'active', Labels: {} }, Description: { Hostname: 'n1' }, Status: { State: 'ready', Addr: '198.18.0.11' } };
const service = (id: string): unknown => ({ ID: id, Spec: { Name: 'boatload-x', Labels: { 'k': 'v', 'boatload.unit': 'x.service', 'boatload.engine-name': 'boatload-x' }, Mode: { Replicated: { Replicas: 1 } }, TaskTemplate: { RestartPolicy: { Condition: 'none' } } } });
const runningTask = (serviceId: string): unknown => ({
  ID: `task-${serviceId}`, ServiceID: serviceId, NodeID: 'node1id', DesiredState: 'running', CreatedAt: '2026-01-01T00:00:00Z',
  Status: { State: 'running', ContainerStatus: { ContainerID: `container-${serviceId}` } },
});
const notFound = (id: string): Error => Object.assign(new Error(`(HTTP code 404) unexpected - service ${id} not found`), { statusCode: 404 });

/**
 * A FAKE manager, only to inject the fault: the real race needs a create and a read interleaved
 * within milliseconds. The first listing shows the old service, which is gone when its tasks are
 * asked for; afterwards the new one.
 */
function replacingManager(options: { keepFailing: boolean }): Docker {
  let listed = 0;
  return {
    listNodes: async () => [NODE],
    listServices: async () => [service(listed++ === 0 ? 'old' : 'new')],
    listTasks: async (opts: { filters: { service: string[] } }) => {
      const id = opts.filters.service[0];
      if (id === 'old' || options.keepFailing) throw notFound(id);
      return [runningTask(id)];
    },
  } as unknown as Docker;
}

const unit: UnitRecord = {
  name: 'x.service', options: [], hash: 'h', desiredState: 'launched', currentState: 'launched', machineId: null, reason: null,
  engineName: 'boatload-x', observed: null, everStarted: true, containerId: 'x', created: '', updated: '',
};

function backend(docker: Docker): SwarmBackend {
  return new SwarmBackend({
    docker, nodes: new SwarmNodes({ docker, maxAgeMs: 0 }), instanceLabel: 'k=v',
    placementContext: async () => ({ machines: [], units: [] }),
    stopTimeoutSeconds: 1, restartDelayMs: 0, logs: { maxSize: '1m', maxFiles: 1 }, taskWaitMs: 1000, logger: silentLogger,
  });
}

describe('locate while a service is replaced', () => {
  test("the old service's tasks are gone (404): the read answers from the new service", async () => {
    const located = await backend(replacingManager({ keepFailing: false })).locate(unit);
    expect(located.container).toBe('container-new');
    expect(located.observed?.status).toBe('running');
  });

  test('a manager that keeps answering 404: a 503, not a raw engine error', async () => {
    await expect(backend(replacingManager({ keepFailing: true })).locate(unit)).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});
