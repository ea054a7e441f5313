/**
 * Helpers for the sandbox suites: a system whose close also removes the volumes and snapshot
 * images this API instance created, a listening server (for SSE and WebSockets), operations.
 */
import Docker from 'dockerode';
import { Agent, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, startSystem, type TestSystem } from './system';

/** Removes engine volumes and images labelled with this API instance's id. */
export async function removeInstanceSandboxResources(instanceId: string): Promise<void> {
  // Its own agent, destroyed after, so no keep-alive socket outlives the suite.
  const agent = new Agent({ keepAlive: false });
  const docker = new Docker({ agent } as Docker.DockerOptions);
  try {
    const label = [`boatload.instance=${instanceId}`];
    const images = await docker.listImages({ filters: { label } });
    await Promise.all(images.map((image) => docker.getImage(image.Id).remove({ force: true }).catch(() => undefined)));
    const { Volumes: volumes } = await docker.listVolumes({ filters: { label } });
    await Promise.all((volumes ?? []).map((volume) => docker.getVolume(volume.Name).remove({ force: true }).catch(() => undefined)));
  } finally {
    agent.destroy();
  }
}

export interface SandboxSystem extends TestSystem {
  /** The API app listening on an ephemeral port (for streams and WebSockets): its base URL. */
  listen(): Promise<string>;
  auth(token: string): [string, string];
  /** Creates a container and answers its id (201 expected). */
  create(token: string, body: Record<string, unknown>, query?: string): Promise<string>;
  /** Follows an operation until it is succeeded or failed. */
  operation(token: string, id: string, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function startSandboxSystem(env: Record<string, string> = {}): Promise<SandboxSystem> {
  const base = await startSystem(env);
  const servers: Server[] = [];
  const close = base.close.bind(base);
  const system = Object.create(base) as SandboxSystem;
  system.listen = async () => {
    const server = await new Promise<Server>((resolve) => {
      const s = base.api.app.listen(0, '127.0.0.1', () => resolve(s));
    });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  system.auth = (token) => ['Authorization', `JWT ${token}`];
  system.create = async (token, body, query = '') => {
    const res = await base.http().post(`/v1/container/${query ? `?${query}` : ''}`).set('Authorization', `JWT ${token}`).send(body);
    if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  };
  system.operation = (token, id, timeoutMs = 30000) =>
    eventually(async () => {
      const res = await base.http().get(`/v1/operations/${id}`).set('Authorization', `JWT ${token}`);
      if (res.status !== 200) throw new Error(`operation answered ${res.status}`);
      const operation = res.body.operation as Record<string, unknown>;
      return operation.status === 'succeeded' || operation.status === 'failed' ? operation : undefined;
    }, timeoutMs, `operation ${id}`);
  system.close = async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    const instanceId = base.api.instanceId;
    await base.api.operations.idle();
    await close();
    await removeInstanceSandboxResources(instanceId);
  };
  return system;
}

/** Reads a Server-Sent Events body into events. */
export function parseSse(text: string): Array<{ id?: string; event: string; data: string }> {
  const events: Array<{ id?: string; event: string; data: string }> = [];
  for (const block of text.split('\n\n')) {
    const lines = block.split('\n').filter((line) => line && !line.startsWith(':'));
    if (!lines.length) continue;
    const event: { id?: string; event: string; data: string } = { event: 'message', data: '' };
    const data: string[] = [];
    for (const line of lines) {
      const colon = line.indexOf(':');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') data.push(value);
    }
    event.data = data.join('\n');
    events.push(event);
  }
  return events;
}
