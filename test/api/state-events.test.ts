/**
 * State reads answer from inspections kept while the satellite's event feed is live. Whatever happens
 * to a container behind BoatLoad's back (killed in the engine directly, or while the satellite was
 * down and no events could flow), the next state reads show it.
 */
import Docker from 'dockerode';
import { eventually, startSystem, type TestSystem } from '../support/system';

let system: TestSystem;
let token: string;
const docker = new Docker();

beforeAll(async () => {
  system = await startSystem();
  token = await system.token('admin');
});

afterAll(async () => {
  await system.close();
});

async function state(id: string): Promise<{ status: string; docker_state: { Running?: boolean; ExitCode?: number } }> {
  const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`).expect(200);
  return res.body;
}

async function runningContainer(): Promise<string> {
  const res = await system.http().post('/v1/container/').set('Authorization', `JWT ${token}`).send({ container_args: 'sleep 3600' }).expect(201);
  const id = res.body.id as string;
  await eventually(async () => ((await state(id)).status === 'running' ? true : undefined), 20000, 'the container to run');
  return id;
}

test('a container killed in the engine directly shows as exited on the next reads', async () => {
  const id = await runningContainer();
  // Read a few times: the inspection is now kept.
  for (let i = 0; i < 5; i++) expect((await state(id)).docker_state.Running).toBe(true);
  await docker.getContainer(`boatload-${id}`).kill({ signal: 'SIGKILL' });
  const after = await eventually(async () => {
    const seen = await state(id);
    return seen.docker_state.Running === false ? seen : undefined;
  }, 5000, 'the kill to show');
  expect(after.docker_state.ExitCode).toBe(137);
});

test('what happened while the satellite was down shows once it is back', async () => {
  const id = await runningContainer();
  for (let i = 0; i < 5; i++) expect((await state(id)).docker_state.Running).toBe(true);
  await system.stopSatellite();
  await docker.getContainer(`boatload-${id}`).kill({ signal: 'SIGKILL' });
  await system.restartSatellite();
  const after = await eventually(async () => {
    const res = await system.http().get(`/v1/container/${id}/state`).set('Authorization', `JWT ${token}`);
    return res.status === 200 && res.body.docker_state.Running === false ? res.body : undefined;
  }, 10000, 'the kill to show after the satellite restart');
  expect(after.docker_state.ExitCode).toBe(137);
});
