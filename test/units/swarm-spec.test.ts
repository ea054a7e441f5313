/**
 * The Swarm backend's pure translations: service names and specs, [X-Fleet] → constraints, and
 * tasks → what BoatLoad reports. (The backend itself runs on a real Swarm: npm run test:cluster.)
 */
import { emptySpec } from '../../common/container-spec';
import { readFleetRequirements } from '../../units/fleet-options';
import { overlayPlanFor } from '../../units/scheduler/swarm-networks';
import { machineIdOfNode, swarmNodeOf, type SwarmNode } from '../../units/scheduler/swarm-nodes';
import {
  isOneShot,
  restartConditionOf,
  scriptConfigName,
  serviceNameFor,
  serviceSpecFor,
  swarmConstraintsFor,
  taskSettled,
  viewOfTasks,
  type SwarmTask,
} from '../../units/scheduler/swarm-spec';
import type { UnitOption } from '../../units/unit-file';
import { backendFromEnv, dockerConnectionOf } from '../../api/backend-config';

const node = (n: number, labels: Record<string, string> = {}, state = 'ready'): SwarmNode => ({
  nodeId: `node${n}id`,
  machineId: machineIdOfNode(`node${n}id`),
  hostname: `n${n}`,
  addr: `198.18.0.${10 + n}`,
  state,
  availability: 'active',
  role: n === 1 ? 'manager' : 'worker',
  labels,
});

const fleet = (...pairs: Array<[string, string]>): UnitOption[] => pairs.map(([name, value]) => ({ section: 'X-Fleet', name, value }));

describe('machine ids and nodes', () => {
  test('a node id maps to 32 stable hex characters', () => {
    expect(machineIdOfNode('hxhy72s23agke2c3aqytj30wi')).toMatch(/^[0-9a-f]{32}$/);
    expect(machineIdOfNode('a')).toBe(machineIdOfNode('a'));
    expect(machineIdOfNode('a')).not.toBe(machineIdOfNode('b'));
  });

  test("a manager's 0.0.0.0 address is taken from its manager address", () => {
    const parsed = swarmNodeOf({ ID: 'x', Status: { State: 'ready', Addr: '0.0.0.0' }, ManagerStatus: { Addr: '198.18.0.11:2377' }, Spec: { Labels: { zone: 'a' } } });
    expect(parsed).toMatchObject({ addr: '198.18.0.11', state: 'ready', labels: { zone: 'a' }, availability: 'active' });
  });
});

describe('service specs', () => {
  test('names are DNS labels; others are hashed', () => {
    expect(serviceNameFor('boatload-0123abcd')).toBe('boatload-0123abcd');
    expect(serviceNameFor('web.1')).toBe('web-1');
    expect(serviceNameFor('_x_')).toBe('x');
    expect(serviceNameFor('a'.repeat(80))).toMatch(/^boatload-[0-9a-f]{20}$/);
    expect(scriptConfigName('svc', '/boatload/a.sh', 'YQ==')).toMatch(/^svc-script-[0-9a-f]{12}$/);
    expect(scriptConfigName('svc', '/boatload/a.sh', 'YQ==')).not.toBe(scriptConfigName('svc', '/boatload/a.sh', 'Yg=='));
  });

  test('restart policies', () => {
    expect(restartConditionOf('no')).toBe('none');
    expect(restartConditionOf('always')).toBe('any');
    expect(restartConditionOf('unless-stopped')).toBe('any');
    expect(restartConditionOf('on-failure')).toBe('on-failure');
  });

  test('a container spec becomes a dnsrr, host-published service with the script as a 0755 config', () => {
    const spec = emptySpec('boatload-1', 'boatload/base:latest');
    spec.cmd = ['/boatload/job.sh', 'a b'];
    spec.env = { A: '1' };
    spec.labels = { 'boatload.id': '1' };
    spec.memoryBytes = 1024;
    spec.nanoCpus = 5e8;
    spec.pidsLimit = 64;
    spec.ports = [{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }, { containerPort: 53, protocol: 'udp' }];
    spec.volumes = [{ source: '/srv', target: '/data', readonly: true }, { source: 'named', target: '/v', readonly: false }];
    const service = serviceSpecFor({
      serviceName: 'boatload-1',
      unitName: '1.service',
      spec,
      imageRef: 'sha256:abc',
      instanceLabel: 'boatload.instance=i1',
      mode: { global: false, replicas: 0 },
      constraints: ['node.labels.zone==a'],
      script: { configId: 'cid', configName: 'cname', path: '/boatload/job.sh' },
      stopTimeoutSeconds: 5,
      restartDelayMs: 1000,
      logs: { maxSize: '1m', maxFiles: 2 },
    });
    expect(service.Labels).toEqual({ 'boatload.instance': 'i1', 'boatload.unit': '1.service', 'boatload.engine-name': 'boatload-1', 'boatload.image': 'boatload/base:latest' });
    expect(service.Mode).toEqual({ Replicated: { Replicas: 0 } });
    expect(service.EndpointSpec).toEqual({
      Mode: 'dnsrr',
      Ports: [
        { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' },
        { Protocol: 'udp', TargetPort: 53, PublishMode: 'host' },
      ],
    });
    const task = service.TaskTemplate as import('dockerode').ContainerTaskSpec;
    expect(task.ContainerSpec).toMatchObject({
      Image: 'sha256:abc',
      Args: ['/boatload/job.sh', 'a b'],
      Env: ['A=1'],
      Labels: { 'boatload.id': '1' },
      StopGracePeriod: 5e9,
      Configs: [{ File: { Name: '/boatload/job.sh', UID: '0', GID: '0', Mode: 0o755 }, ConfigID: 'cid', ConfigName: 'cname' }],
      Mounts: [
        { Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true },
        { Type: 'volume', Source: 'named', Target: '/v', ReadOnly: false },
      ],
    });
    expect(task.ContainerSpec?.Command).toBeUndefined();
    expect(task.Resources).toEqual({ Limits: { NanoCPUs: 5e8, MemoryBytes: 1024, Pids: 64 } });
    expect(task.RestartPolicy).toEqual({ Condition: 'none', Delay: 1e9, MaxAttempts: 0 });
    expect(task.Placement).toEqual({ Constraints: ['node.labels.zone==a'] });
    expect(task.LogDriver).toEqual({ Name: 'json-file', Options: { 'max-size': '1m', 'max-file': '2' } });
    expect(task.Networks).toBeUndefined();
  });

  test('global mode, and a named network', () => {
    const spec = emptySpec('g', 'img');
    spec.network = 'host';
    spec.restart = 'always';
    const service = serviceSpecFor({
      serviceName: 'g', unitName: 'g.service', spec, imageRef: 'img', instanceLabel: 'k=v', mode: { global: true }, constraints: [],
      stopTimeoutSeconds: 1, restartDelayMs: 0, logs: { maxSize: '1m', maxFiles: 1 },
    });
    expect(service.Mode).toEqual({ Global: {} });
    const task = service.TaskTemplate as import('dockerode').ContainerTaskSpec;
    expect(task.Networks).toEqual([{ Target: 'host' }]);
    expect(task.RestartPolicy?.Condition).toBe('any');
  });

  test("a user's network: its internal overlay with the hostname as alias, and the egress overlay for internet only", () => {
    const spec = emptySpec('boatload-c1', 'img');
    spec.network = 'boatload-net-0123456789abcdef';
    spec.labels = { 'boatload.network': 'internet', 'boatload.hostname': 'web', 'boatload.owner': 'alice' };
    const internet = overlayPlanFor(spec);
    expect(internet?.networks).toEqual([
      { name: 'boatload-net-0123456789abcdef', internal: true, role: 'shared' },
      { name: 'boatload-net-0123456789abcdef-out', internal: false, role: 'egress' },
    ]);
    expect(internet?.attachments).toEqual([{ Target: 'boatload-net-0123456789abcdef', Aliases: ['web'] }, { Target: 'boatload-net-0123456789abcdef-out' }]);
    const service = serviceSpecFor({
      serviceName: 'c1', unitName: 'c1.service', spec, imageRef: 'img', instanceLabel: 'k=v', mode: { global: false, replicas: 1 }, constraints: [],
      stopTimeoutSeconds: 1, restartDelayMs: 0, logs: { maxSize: '1m', maxFiles: 1 }, networks: internet?.attachments,
    });
    expect((service.TaskTemplate as import('dockerode').ContainerTaskSpec).Networks).toEqual(internet?.attachments);

    spec.labels['boatload.network'] = 'private';
    delete spec.labels['boatload.hostname'];
    expect(overlayPlanFor(spec)).toEqual({ networks: [{ name: 'boatload-net-0123456789abcdef', internal: true, role: 'shared' }], attachments: [{ Target: 'boatload-net-0123456789abcdef' }] });
  });

  test("none: an internal overlay of the container alone (Swarm has no `none` for services); other networks: no plan", () => {
    const spec = emptySpec('boatload-c2', 'img');
    spec.network = 'none';
    const plan = overlayPlanFor(spec);
    expect(plan?.networks).toHaveLength(1);
    expect(plan?.networks[0]).toMatchObject({ internal: true, role: 'isolated' });
    expect(plan?.networks[0].name).toMatch(/^boatload-iso-[0-9a-f]{16}$/);
    expect(overlayPlanFor({ ...spec, name: 'boatload-c3' })?.networks[0].name).not.toBe(plan?.networks[0].name);
    expect(overlayPlanFor({ ...spec, network: 'host' })).toBeNull();
    expect(overlayPlanFor({ ...spec, network: undefined })).toBeNull();
  });
});

describe('[X-Fleet] → placement constraints', () => {
  const nodes = [node(1, { zone: 'a' }), node(2, { zone: 'b', disk: 'ssd' }), node(3, { zone: 'b' })];
  const constraints = (options: UnitOption[], placed: Array<{ name: string; machineId: string; conflicts?: string[] }> = [], metadataOf = (n: SwarmNode) => n.labels) =>
    swarmConstraintsFor({ unitName: 'u.service', requirements: readFleetRequirements(options, 'u.service'), nodes, metadataOf, placed });

  test('no rules: any node', () => {
    expect(constraints([])).toEqual({ constraints: [] });
  });

  test('single-valued metadata is a node label constraint', () => {
    expect(constraints(fleet(['MachineMetadata', 'zone=b']))).toEqual({ constraints: ['node.labels.zone==b'] });
    expect(constraints(fleet(['MachineMetadata', 'zone=b'], ['MachineMetadata', 'disk=ssd']))).toEqual({ constraints: ['node.labels.zone==b', 'node.labels.disk==ssd'] });
  });

  test('several values for a key: the nodes that match none are excluded by id', () => {
    expect(constraints(fleet(['MachineMetadata', '"zone=a" "zone=c"']))).toEqual({ constraints: ['node.id!=node2id', 'node.id!=node3id'] });
  });

  test('metadata edited in the API (not the label) is evaluated by BoatLoad', () => {
    const edited = (n: SwarmNode): Record<string, string> => (n.nodeId === 'node3id' ? { zone: 'c' } : n.labels);
    expect(constraints(fleet(['MachineMetadata', 'zone=b']), [], edited)).toEqual({ constraints: ['node.id!=node1id', 'node.id!=node3id'] });
  });

  test('MachineID pins to the node; an unknown one is a reason', () => {
    expect(constraints(fleet(['MachineID', machineIdOfNode('node2id')]))).toEqual({ constraints: ['node.id==node2id'] });
    expect(constraints(fleet(['MachineID', machineIdOfNode('node3id').slice(0, 8)]))).toEqual({ constraints: ['node.id==node3id'] });
    expect(constraints(fleet(['MachineID', 'ffffffff']))).toEqual({ reason: 'no machine has MachineID ffffffff' });
  });

  test('Conflicts exclude the nodes of conflicting units (either side may name the other)', () => {
    const placed = [
      { name: 'db.service', machineId: machineIdOfNode('node1id') },
      { name: 'web.service', machineId: machineIdOfNode('node3id'), conflicts: ['u.service'] },
    ];
    expect(constraints(fleet(['Conflicts', 'db.service']), placed)).toEqual({ constraints: ['node.id!=node1id', 'node.id!=node3id'] });
    expect(constraints(fleet(['Conflicts', 'db.service'], ['MachineMetadata', 'zone=b']), placed)).toEqual({ constraints: ['node.labels.zone==b', 'node.id!=node3id'] });
    const everywhere = nodes.map((n) => ({ name: `x${n.nodeId}.service`, machineId: n.machineId }));
    expect(constraints(fleet(['Conflicts', 'x*']), everywhere)).toEqual({ reason: 'every eligible machine runs a unit that conflicts with u.service' });
  });

  test('MachineOf follows the peer', () => {
    expect(constraints(fleet(['MachineOf', 'db.service']), [{ name: 'db.service', machineId: machineIdOfNode('node2id') }])).toEqual({ constraints: ['node.id==node2id'] });
    expect(constraints(fleet(['MachineOf', 'db.service']))).toEqual({ reason: 'MachineOf unit db.service is not placed on any machine' });
  });
});

describe('tasks → observations', () => {
  const nodes = new Map([node(1), node(2), node(3, {}, 'down')].map((n) => [n.nodeId, n]));
  const nodeOf = (id: string): SwarmNode | undefined => nodes.get(id);
  let seq = 0;
  const task = (nodeN: number, state: string, desired = 'running', extra: Partial<SwarmTask['Status']> = {}): SwarmTask => ({
    ID: `task${++seq}xxxxxxxxxxxx`,
    ServiceID: 's',
    NodeID: `node${nodeN}id`,
    DesiredState: desired,
    CreatedAt: `2026-01-01T00:00:${String(seq).padStart(2, '0')}Z`,
    Status: { State: state, ContainerStatus: { ContainerID: `c${seq}` }, ...extra },
  });
  const view = (tasks: SwarmTask[], options: { global?: boolean; ephemeral?: boolean } = {}) =>
    viewOfTasks({ tasks, nodeOf, global: options.global ?? false, ephemeral: options.ephemeral ?? false });

  test('no task: missing', () => {
    expect(view([])).toMatchObject({ observed: { status: 'missing' }, machineId: null, container: null, problem: null, notes: [] });
  });

  test("a running task's host-mode ports are reached at its node's address; a moved task at the new node's", () => {
    const ports = { PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30001, PublishMode: 'host' }, { Protocol: 'udp', TargetPort: 53, PublishedPort: 30002, PublishMode: 'host' }] } };
    const first = task(1, 'running', 'running', ports);
    expect(view([first]).observed.ports).toEqual([
      { port: 53, protocol: 'udp', host_ip: '198.18.0.11', host_port: 30002 },
      { port: 80, protocol: 'tcp', host_ip: '198.18.0.11', host_port: 30001 },
    ]);
    // Node 1 lost its task; Swarm runs a new one on node 2 with another host port.
    const moved = task(2, 'running', 'running', { PortStatus: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 30005, PublishMode: 'host' }] } });
    expect(view([{ ...first, DesiredState: 'shutdown' }, moved]).observed.ports).toEqual([{ port: 80, protocol: 'tcp', host_ip: '198.18.0.12', host_port: 30005 }]);
    // Not running (yet): nothing is reachable.
    expect(view([task(2, 'starting', 'running', ports)]).observed.ports).toBeUndefined();
  });

  test('a running task: its node and container', () => {
    const t = task(2, 'running');
    expect(view([t])).toMatchObject({ observed: { status: 'running', exitCode: null, machineId: machineIdOfNode('node2id') }, container: t.Status.ContainerStatus?.ContainerID, problem: null });
  });

  test('a completed or failed task: exited with its code; rejected: dead with the error', () => {
    expect(view([task(1, 'complete', 'shutdown', { ContainerStatus: { ContainerID: 'x', ExitCode: 0 } })]).observed).toMatchObject({ status: 'exited', exitCode: 0 });
    expect(view([task(1, 'failed', 'shutdown', { ContainerStatus: { ContainerID: 'x', ExitCode: 3 } })]).observed).toMatchObject({ status: 'exited', exitCode: 3 });
    expect(view([task(1, 'rejected', 'shutdown', { Err: 'No such image: x', ContainerStatus: {} })]).observed).toMatchObject({ status: 'dead', error: 'No such image: x' });
    expect(view([task(1, 'pending', 'running', { Err: 'no suitable node', ContainerStatus: {} })]).observed).toMatchObject({ status: 'created', error: 'no suitable node' });
  });

  test('a permanent unit replaced after its node went down: the new task, and a note about the old copy', () => {
    const old = task(3, 'running', 'shutdown');
    const fresh = task(2, 'running');
    const v = view([old, fresh]);
    expect(v).toMatchObject({ observed: { status: 'running' }, machineId: machineIdOfNode('node2id'), problem: null });
    expect(v.notes).toHaveLength(1);
    expect(v.notes[0]).toMatch(/node n3 .* is down: the copy that ran there .* may still be running/);
  });

  test('a replacement not yet running after a task ran: restarting', () => {
    expect(view([task(2, 'complete', 'shutdown'), task(1, 'preparing')]).observed.status).toBe('restarting');
  });

  test('an ephemeral task on a node that is down: lost, and unreadable', () => {
    const v = view([task(3, 'running', 'shutdown')], { ephemeral: true });
    expect(v.observed).toMatchObject({ status: 'missing', error: expect.stringMatching(/node n3 .* is down: the container is lost/) });
    expect(v.machineId).toBe(machineIdOfNode('node3id'));
    expect(v.problem).toMatch(/is down; its containers cannot be read/);
  });

  test('an older copy still running on a ready node while Swarm stops it', () => {
    expect(view([task(1, 'running', 'shutdown'), task(2, 'running')]).notes[0]).toMatch(/node n1 .* still runs an older copy/);
  });

  test('global: running when a task runs on a ready node; no single machine', () => {
    const v = view([task(1, 'running'), task(2, 'running'), task(3, 'running')], { global: true });
    expect(v).toMatchObject({ observed: { status: 'running' }, machineId: null, problem: null });
  });
});

describe("the wait for a launched task (taskSettled)", () => {
  const task = (state: string, desired: string, err?: string): Pick<SwarmTask, 'DesiredState' | 'Status'> => ({ DesiredState: desired, Status: { State: state, Err: err } });

  test('a task Swarm still wants running settles it once it runs or failed, or is pending with an error', () => {
    for (const state of ['running', 'complete', 'failed', 'rejected']) expect(taskSettled(task(state, 'running'), false)).toBe(true);
    expect(taskSettled(task('pending', 'running', 'no suitable node'), false)).toBe(true);
    for (const state of ['new', 'pending', 'assigned', 'preparing', 'starting']) expect(taskSettled(task(state, 'running'), true)).toBe(false);
  });

  test('a one-shot task that ran and ended between two polls (desired state already shutdown) settles it; a restarting service waits for its next task', () => {
    for (const state of ['complete', 'failed', 'rejected']) {
      expect(taskSettled(task(state, 'shutdown'), true)).toBe(true);
      expect(taskSettled(task(state, 'shutdown'), false)).toBe(false);
    }
    // Shut down by an update or a removal: not a run that ended.
    expect(taskSettled(task('shutdown', 'shutdown'), true)).toBe(false);
  });

  test('one-shot means restart condition none', () => {
    expect(isOneShot({ TaskTemplate: { RestartPolicy: { Condition: restartConditionOf('no') } } })).toBe(true);
    expect(isOneShot({ TaskTemplate: { RestartPolicy: { Condition: restartConditionOf('always') } } })).toBe(false);
    expect(isOneShot({})).toBe(false);
  });
});

describe('BOATLOAD_BACKEND', () => {
  test('local by default; swarm settings need the swarm backend', () => {
    expect(backendFromEnv({})).toEqual({ kind: 'local' });
    expect(() => backendFromEnv({ BOATLOAD_SWARM_DOCKER_HOST: 'unix:///x' })).toThrow(/BOATLOAD_SWARM_DOCKER_HOST is set but BOATLOAD_BACKEND is not swarm/);
    expect(() => backendFromEnv({ BOATLOAD_BACKEND: 'k8s' })).toThrow(/must be local or swarm/);
  });

  test('swarm: a manager address and a shared satellite secret', () => {
    expect(() => backendFromEnv({ BOATLOAD_BACKEND: 'swarm' })).toThrow(/SATELLITE_SECRET/);
    expect(() => backendFromEnv({ BOATLOAD_BACKEND: 'swarm', SATELLITE_SECRET: 's', BOATLOAD_SWARM_DOCKER_HOST: 'http://x' })).toThrow(/unix:\/\/\/path or tcp:\/\/host:port/);
    expect(backendFromEnv({ BOATLOAD_BACKEND: 'swarm', SATELLITE_SECRET_FILE: '/s' })).toEqual({
      kind: 'swarm',
      manager: { kind: 'engine', dockerHost: 'unix:///var/run/docker.sock' },
      satellitePort: 8001,
      restartDelayMs: 1000,
      taskWaitMs: 20000,
      logs: { maxSize: '256m', maxFiles: 2 },
    });
    expect(dockerConnectionOf('unix:///run/d.sock')).toEqual({ socketPath: '/run/d.sock' });
    expect(dockerConnectionOf('tcp://10.0.0.1:2375')).toEqual({ host: '10.0.0.1', port: 2375, protocol: 'http' });
  });

  test("swarm through a manager's satellite: an http(s) origin, not together with an engine address", () => {
    const swarm = { BOATLOAD_BACKEND: 'swarm', SATELLITE_SECRET: 's' };
    expect(backendFromEnv({ ...swarm, BOATLOAD_SWARM_MANAGER_SATELLITE: 'http://10.0.0.1:8001' })).toMatchObject({ kind: 'swarm', manager: { kind: 'satellite', url: 'http://10.0.0.1:8001' } });
    expect(backendFromEnv({ ...swarm, BOATLOAD_SWARM_MANAGER_SATELLITE: 'https://m.example:8001/' })).toMatchObject({ manager: { kind: 'satellite', url: 'https://m.example:8001' } });
    expect(() => backendFromEnv({ ...swarm, BOATLOAD_SWARM_MANAGER_SATELLITE: 'http://m:8001', BOATLOAD_SWARM_DOCKER_HOST: 'unix:///x' })).toThrow(/not both/);
    for (const bad of ['m:8001', 'ftp://m:8001', 'http://m:8001/swarm', 'http://m:8001/?x=1', 'not a url']) {
      expect(() => backendFromEnv({ ...swarm, BOATLOAD_SWARM_MANAGER_SATELLITE: bad })).toThrow(/BOATLOAD_SWARM_MANAGER_SATELLITE must be an http\(s\) URL/);
    }
    expect(() => backendFromEnv({ BOATLOAD_SWARM_MANAGER_SATELLITE: 'http://m:8001' })).toThrow(/is set but BOATLOAD_BACKEND is not swarm/);
    expect(dockerConnectionOf('tcp://10.0.0.1:2375')).toEqual({ host: '10.0.0.1', port: 2375, protocol: 'http' });
  });
});
