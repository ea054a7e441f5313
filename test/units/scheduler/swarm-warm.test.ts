/**
 * A function's capacity on the swarm backend is read from every ready node's satellite. One
 * satellite that accepts connections and never answers (a hung host Swarm still calls ready) must
 * not hold the read up for the whole satellite timeout: that node counts for nothing after
 * listTimeoutMs, and the other nodes' members are counted.
 *
 * Real parts: a real satellite on the local engine with a real member, and a real socket that never
 * answers. Swarm's node list is a stand-in (a real Swarm calls a hung node ready for only a few
 * seconds, which no test can hold on demand).
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { LABELS } from '../../../common/labels';
import { silentLogger } from '../../../common/logger';
import { SatelliteClient } from '../../../api/satellite/client';
import type { SwarmNode, SwarmNodes } from '../../../units/scheduler/swarm-nodes';
import { SwarmWarmPools } from '../../../units/scheduler/swarm-warm';
import { BASE_IMAGE } from '../../support/global-setup';
import { SATELLITE_SECRET, startSatellite, type SatelliteHandle } from '../../support/system';

const docker = new Docker();
const instanceLabel = `${LABELS.instance}=bltest-swarm-warm-${randomBytes(4).toString('hex')}`;
let satellite: SatelliteHandle;
let hung: Server;
const hungSockets: Socket[] = [];
let member: string;

beforeAll(async () => {
  satellite = await startSatellite();
  hung = createServer((socket) => hungSockets.push(socket));
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  member = `bltest-swarm-warm-${randomBytes(4).toString('hex')}`;
  const [key, value] = instanceLabel.split('=');
  const container = await docker.createContainer({ name: member, Image: BASE_IMAGE, Cmd: ['sleep', '300'], NetworkDisabled: true, Labels: { [key]: value, [LABELS.warmTag]: 'function:alice/f' } });
  await container.start();
});

afterAll(async () => {
  await docker.getContainer(member).remove({ force: true }).catch(() => undefined);
  for (const socket of hungSockets) socket.destroy();
  await new Promise((resolve) => hung.close(resolve));
  await satellite.close();
});

const node = (machineId: string): SwarmNode => ({ nodeId: machineId, machineId, hostname: machineId, addr: '127.0.0.1', state: 'ready', availability: 'active', role: 'worker', labels: {} });

test('a node whose satellite never answers counts for nothing after listTimeoutMs; the others are counted', async () => {
  const urls: Record<string, string> = { live: satellite.url, hung: `http://127.0.0.1:${(hung.address() as AddressInfo).port}` };
  const pools = new SwarmWarmPools({
    nodes: { list: async () => [node('live'), node('hung')] } as unknown as SwarmNodes,
    // The satellite timeout is a minute: the read must not wait for it.
    agentFor: (machineId) => new SatelliteClient({ url: urls[machineId], secret: SATELLITE_SECRET, timeoutMs: 60_000, label: machineId }),
    classes: [],
    defaults: {},
    instanceLabel,
    isTaken: async () => false,
    minAvailableBytes: 0,
    logger: silentLogger,
    overlays: { withOverlays: async () => undefined } as never,
    listTimeoutMs: 300,
  });
  const members = await pools.dedicatedMembers();
  expect(members.get('function:alice/f')).toEqual({ idle: 1, creating: 0 });
  expect(hungSockets.length).toBeGreaterThan(0); // the hung satellite was asked
}, 10_000);
