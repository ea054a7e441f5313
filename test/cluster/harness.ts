/**
 * A real multi-node Docker Swarm for the cluster tests, on this machine: cluster.sh brings up one
 * dockerd per network namespace (node N at 198.18.0.(10+N), socket /run/blc-nN.sock), forms the
 * Swarm, loads the images, and tears it all down again. This class drives it and adds what the
 * tests need: the satellites as a global service, and node faults (crash, cut, satellite kill).
 */
import Docker from 'dockerode';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hashPassword } from '../../api/auth/passwords';
import { projectRoot } from '../../common/project-root';
import { machineIdOfNode } from '../../units/scheduler/swarm-nodes';

const exec = promisify(execFile);
// From the sources (jest) and from dist/ (the bench runs the compiled harness): the script stays here.
const CLUSTER_SCRIPT = join(projectRoot(), 'test', 'cluster', 'cluster.sh');
const DEPLOY_SCRIPT = join(projectRoot(), 'docker', 'deploy-swarm.sh');
export const PREFIX = process.env.BLC_PREFIX || 'blc';
export const SATELLITE_PORT = 8001;
/** The host's own address on the nodes' bridge (cluster.sh: PREFIX-h0), and the nodes' subnet. */
export const HOST_ADDRESS = '198.18.0.1';
export const NODES_SUBNET = '198.18.0.0/24';
/** The admin password of the API image deployed on the Swarm (it refuses to listen there with the default). */
export const DEPLOYED_ADMIN_PASSWORD = 'cluster-admin-password';

export interface ClusterNode {
  index: number;
  ip: string;
  hostname: string;
  socket: string;
  docker: Docker;
  /** The Swarm node id (set once the node has joined). */
  nodeId: string;
  /** BoatLoad's machine id for the node. */
  machineId: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function run(script: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  try {
    const { stdout } = await exec('bash', [script, ...args], { env: { ...process.env, BLC_PREFIX: PREFIX, ...env }, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${script} ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
}

export class Cluster {
  readonly nodes = new Map<number, ClusterNode>();
  private readonly agents: Agent[] = [];
  private secretDir: string | null = null;

  private constructor() {}

  /** Tears down leftovers of any earlier run, then brings up `size` nodes with a Swarm. */
  static async up(size: number): Promise<{ cluster: Cluster; readyMs: number }> {
    const started = Date.now();
    const cluster = new Cluster();
    try {
      await run(CLUSTER_SCRIPT, ['up', String(size)]);
      for (let index = 1; index <= size; index++) await cluster.attach(index);
    } catch (err) {
      // A half-built cluster is not left behind for the next test file.
      await cluster.down().catch(() => undefined);
      throw err;
    }
    return { cluster, readyMs: Date.now() - started };
  }

  private async attach(index: number): Promise<ClusterNode> {
    const socket = `/run/${PREFIX}-n${index}.sock`;
    const agent = new Agent({ keepAlive: true });
    this.agents.push(agent);
    const docker = new Docker({ socketPath: socket, agent } as unknown as Docker.DockerOptions);
    const info = (await docker.info()) as { Swarm: { NodeID: string } };
    const node: ClusterNode = {
      index,
      ip: `198.18.0.${10 + index}`,
      hostname: `${PREFIX}-n${index}`,
      socket,
      docker,
      nodeId: info.Swarm.NodeID,
      machineId: machineIdOfNode(info.Swarm.NodeID),
    };
    this.nodes.set(index, node);
    return node;
  }

  node(index: number): ClusterNode {
    const node = this.nodes.get(index);
    if (!node) throw new Error(`no node ${index}`);
    return node;
  }

  /** The node holding a machine id. */
  nodeOfMachine(machineId: string | null): ClusterNode | undefined {
    return [...this.nodes.values()].find((node) => node.machineId === machineId);
  }

  get manager(): ClusterNode {
    return this.node(1);
  }

  get managerHost(): string {
    return `unix://${this.manager.socket}`;
  }

  /** Starts node `index`, joins it to the Swarm and loads the images. */
  async add(index: number): Promise<ClusterNode> {
    await run(CLUSTER_SCRIPT, ['add', String(index)]);
    return this.attach(index);
  }

  /** SIGKILL every process of the node; it stays dead. */
  async crash(index: number): Promise<void> {
    await run(CLUSTER_SCRIPT, ['crash', String(index)]);
  }

  /**
   * Stops the node's dockerd: `term` as a service manager would (it stops its containers first),
   * `kill` at once with SIGKILL (its containers keep running without it).
   */
  async stopEngine(index: number, how: 'term' | 'kill' = 'term'): Promise<void> {
    await run(CLUSTER_SCRIPT, ['stop', String(index), how]);
  }

  /** Starts the node's dockerd again on the same data root (same engine ID, same containers). */
  async startEngine(index: number): Promise<void> {
    await run(CLUSTER_SCRIPT, ['start', String(index)]);
  }

  async cut(index: number): Promise<void> {
    await run(CLUSTER_SCRIPT, ['cut', String(index)]);
  }

  async restore(index: number): Promise<void> {
    await run(CLUSTER_SCRIPT, ['restore', String(index)]);
  }

  /** Swarm's view of a node: ready, down, unknown. */
  async nodeState(index: number): Promise<string> {
    const node = (await this.manager.docker.getNode(this.node(index).nodeId).inspect()) as { Status: { State: string } };
    return node.Status.State;
  }

  /**
   * The satellite as a global service (docker/deploy-swarm.sh), each node's mounting that node's
   * own engine socket (a Swarm template: every node here shares the host's filesystem).
   */
  async deploySatellites(secret: string, restartDelay = '3s', options: { scriptDirs?: boolean } = {}): Promise<void> {
    this.secretDir = mkdtempSync(join(tmpdir(), 'boatload-cluster-secret-'));
    const secretFile = join(this.secretDir, 'satellite.secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const env: Record<string, string> = {
      DOCKER_HOST: this.managerHost,
      DOCKER_SOCK: '/run/{{.Node.Hostname}}.sock',
      BOATLOAD_SECRET_FILE: secretFile,
      SATELLITE_RESTART_DELAY: restartDelay,
    };
    if (options.scriptDirs) {
      // Every node shares this machine's filesystem: one directory per node (a Swarm template),
      // made here for the nodes there may be (a bind source must exist).
      for (let index = 1; index <= 9; index++) mkdirSync(join(this.secretDir, 'scripts', `${PREFIX}-n${index}`), { recursive: true });
      env.SATELLITE_SCRIPT_DIR = join(this.secretDir, 'scripts', '{{.Node.Hostname}}');
    }
    await run(DEPLOY_SCRIPT, ['satellites'], env);
  }

  /** The host directory node `index`'s satellite stages scripts in (deploySatellites with scriptDirs). */
  scriptDirOf(index: number): string {
    if (!this.secretDir) throw new Error('no satellites deployed');
    return join(this.secretDir, 'scripts', `${PREFIX}-n${index}`);
  }

  /**
   * The API image as a Swarm service (docker/deploy-swarm.sh api): on the manager, or with
   * `replicas` > 1 that many on the nodes labelled boatload.api=true (`labelNode`), one a node.
   */
  async deployApi(options: { env?: string[]; replicas?: number } = {}): Promise<void> {
    await run(DEPLOY_SCRIPT, ['api'], {
      DOCKER_HOST: this.managerHost,
      DOCKER_SOCK: '/run/{{.Node.Hostname}}.sock',
      ADMINHASH: await hashPassword(DEPLOYED_ADMIN_PASSWORD, 1000),
      API_ENV: (options.env ?? []).join(' '),
      API_REPLICAS: String(options.replicas ?? 1),
    });
  }

  /** Adds labels to a node (Swarm placement constraints, machine metadata). */
  async labelNode(index: number, labels: Record<string, string>): Promise<void> {
    await this.updateNodeSpec(index, (spec) => ({ ...spec, Labels: { ...(spec.Labels as object | undefined), ...labels } }));
  }

  /** Drains a node (no new tasks, its tasks move) or makes it active again. */
  async setAvailability(index: number, availability: 'drain' | 'active'): Promise<void> {
    await this.updateNodeSpec(index, (spec) => ({ ...spec, Availability: availability }));
  }

  /**
   * Read-modify-write of a node's spec. Swarm bumps a node's version on its own (status and
   * description updates from the node's engine, more often just after services change), so an
   * update made from an inspect a moment old can fail "update out of sequence": read again and retry.
   */
  private async updateNodeSpec(index: number, change: (spec: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    const node = this.manager.docker.getNode(this.node(index).nodeId);
    for (let attempt = 1; ; attempt += 1) {
      const current = (await node.inspect()) as { Version: { Index: number }; Spec: Record<string, unknown> };
      try {
        await node.update({ version: current.Version.Index, ...change(current.Spec) });
        return;
      } catch (error) {
        if (attempt >= 5 || !/update out of sequence/.test(String((error as Error).message))) throw error;
      }
    }
  }

  /** The last lines a service logged (for a failing test's message). */
  async serviceLogs(name: string, lines = 40): Promise<string> {
    try {
      const { stdout, stderr } = await exec('docker', ['service', 'logs', '--raw', '--tail', String(lines), name], { env: { ...process.env, DOCKER_HOST: this.managerHost }, maxBuffer: 4 * 1024 * 1024 });
      return stdout + stderr;
    } catch (err) {
      return `(no logs: ${(err as Error).message})`;
    }
  }

  /** Whether the satellite on the node answers (unsigned: a 401 means it is up). */
  async satelliteUp(index: number): Promise<boolean> {
    try {
      const res = await fetch(`http://${this.node(index).ip}:${SATELLITE_PORT}/health`, { signal: AbortSignal.timeout(1000) });
      return res.status === 401 || res.status === 200;
    } catch {
      return false;
    }
  }

  async waitForSatellites(indexes: number[], timeoutMs = 60000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const up = await Promise.all(indexes.map((index) => this.satelliteUp(index)));
      if (up.every(Boolean)) return;
      if (Date.now() > deadline) throw new Error(`satellites not up on nodes ${indexes.filter((_, i) => !up[i]).join(', ')}`);
      await sleep(200);
    }
  }

  /** SIGKILLs the satellite's container on the node (Swarm starts a new one after its restart delay). */
  async killSatellite(index: number): Promise<void> {
    const docker = this.node(index).docker;
    const containers = await docker.listContainers({ filters: { label: ['com.docker.swarm.service.name=boatload-satellite'] } });
    if (containers.length === 0) throw new Error(`no satellite runs on node ${index}`);
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).kill({ signal: 'SIGKILL' })));
  }

  /** Running containers of a Swarm service on a node. */
  async runningTasksOn(index: number, serviceName: string): Promise<string[]> {
    const containers = await this.node(index).docker.listContainers({ filters: { label: [`com.docker.swarm.service.name=${serviceName}`] } });
    return containers.map((c) => c.Id);
  }

  /** Tears everything down (namespaces, engines, cgroups, data roots, sockets). */
  async down(): Promise<void> {
    for (const agent of this.agents) agent.destroy();
    if (this.secretDir) rmSync(this.secretDir, { recursive: true, force: true });
    await Cluster.teardown();
  }

  /** Removes every trace of a cluster with this prefix, from this run or an earlier crashed one. */
  static async teardown(): Promise<void> {
    await run(CLUSTER_SCRIPT, ['down']);
  }
}
