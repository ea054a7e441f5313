/**
 * The Units page in a real browser (headless Debian Chromium, playwright-core) against a real
 * BoatLoad on the real engine: an admin submits a unit file, starts, stops and destroys it, and sees
 * the machines; the engine's container follows. A non-admin sees the API's refusals and nothing
 * else. Screenshots: .run/ui-screenshots/units/.
 */
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';
import { eventually, PASSWORD } from '../support/system';

jest.setTimeout(60_000);

const tag = randomBytes(3).toString('hex');
/** The engine container the unit runs: a name no other test uses. */
const container = `ui-units-${tag}`;
const unitName = `ui-units-${tag}.service`;
const docker = new Docker();

let system: SandboxSystem;
let base: string;
let browser: TestBrowser;
let admin: Page;
let token: string;

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
}

/** The engine's running flag for the unit's container (false when it is gone). */
async function running(): Promise<boolean> {
  try {
    return (await docker.getContainer(container).inspect()).State.Running;
  } catch {
    return false;
  }
}

const fleet = (path: string) => system.http().get(`/fleet/v1${path}`).set(...system.auth(token));

beforeAll(async () => {
  [system, browser] = await Promise.all([startSandboxSystem(), launchBrowser('units')]);
  base = await system.listen();
  token = await system.token('admin');
  admin = await browser.page();
  await logIn(admin, 'admin', 'admin');
});

afterAll(async () => {
  await system?.http().delete(`/fleet/v1/units/${unitName}`).set(...system.auth(token));
  await docker.getContainer(container).remove({ force: true }).catch(() => undefined);
  await browser?.close();
  await system?.close();
});

test('admins see the machines, and a unit file the parser or the API refuses shows why', async () => {
  await admin.getByRole('link', { name: 'Units' }).click();
  await admin.getByRole('heading', { name: 'Machines' }).waitFor();
  const machines = ((await fleet('/machines').expect(200)).body as { machines: Array<{ id: string; primaryIP: string }> }).machines;
  expect(machines.length).toBeGreaterThan(0);
  for (const machine of machines) await expect(admin.locator(`tr[data-machine="${machine.id}"]`).textContent()).resolves.toContain(machine.primaryIP);

  await admin.getByRole('button', { name: 'Submit a unit' }).click();
  const form = admin.getByRole('form', { name: 'Submit a unit' });
  await form.getByLabel('Unit name').fill(unitName);
  // The browser parses the file with the API's own parser: its message, line included.
  await form.getByLabel('Unit file', { exact: true }).fill('[Service]\nExecStart\n');
  await form.getByRole('button', { name: 'Submit the unit' }).click();
  await expect(form.getByRole('alert').textContent()).resolves.toBe('line 2: expected Name=Value, got "ExecStart"');
  // The API's refusal, in its own words (fleet's {"error": {"message"}}).
  const privileged = `[Service]\nExecStart=/usr/bin/docker run --privileged --name ${container} boatload/base:latest sleep 600\n`;
  await form.getByLabel('Unit file', { exact: true }).fill(privileged);
  await form.getByRole('button', { name: 'Submit the unit' }).click();
  const refused = await system.http().put(`/fleet/v1/units/${unitName}`).set(...system.auth(token)).set('Content-Type', 'application/json')
    .send(JSON.stringify({ desiredState: 'launched', options: [{ section: 'Service', name: 'ExecStart', value: `/usr/bin/docker run --privileged --name ${container} boatload/base:latest sleep 600` }] }));
  expect(refused.status).toBe(400);
  await form.getByRole('alert').filter({ hasText: (refused.body as { error: { message: string } }).error.message }).waitFor();
  await fleet(`/units/${unitName}`).expect(404);
});

test('submits a unit file that starts; stop and start reach the engine; destroy removes it', async () => {
  const form = admin.getByRole('form', { name: 'Submit a unit' });
  const text = ['[Unit]', `Description=dashboard test ${tag}`, '', '[Service]', `ExecStartPre=-/usr/bin/docker rm -f ${container}`, `ExecStart=/usr/bin/docker run --name ${container} boatload/base:latest sleep 600`, ''].join('\n');
  await form.getByLabel('Unit file', { exact: true }).fill(text);
  await form.getByLabel('Then').selectOption('launched');
  await form.getByRole('button', { name: 'Submit the unit' }).click();
  await form.waitFor({ state: 'detached' });
  const row = admin.locator(`tr[data-unit="${unitName}"]`);
  await row.getByTestId('current').filter({ hasText: /^launched$/ }).waitFor({ timeout: 30_000 });
  await eventually(async () => ((await running()) ? true : undefined), 20_000, 'the unit container running');
  const stored = (await fleet(`/units/${unitName}`).expect(200)).body as { options: Array<{ section: string; name: string; value: string }>; desiredState: string };
  expect(stored.desiredState).toBe('launched');
  expect(stored.options).toContainEqual({ section: 'Unit', name: 'Description', value: `dashboard test ${tag}` });
  await browser.screenshot(admin, 'unit-launched');

  await row.getByRole('button', { name: `Stop ${unitName}` }).click();
  await row.getByTestId('current').filter({ hasText: /^loaded$/ }).waitFor({ timeout: 30_000 });
  await eventually(async () => ((await running()) ? undefined : true), 20_000, 'the unit container stopped');

  await row.getByRole('button', { name: `Start ${unitName}` }).click();
  await row.getByTestId('current').filter({ hasText: /^launched$/ }).waitFor({ timeout: 30_000 });
  await eventually(async () => ((await running()) ? true : undefined), 20_000, 'the unit container running again');

  await row.getByRole('button', { name: `Destroy ${unitName}` }).click();
  await row.getByRole('button', { name: 'Yes, destroy' }).click();
  await row.waitFor({ state: 'detached', timeout: 20_000 });
  await fleet(`/units/${unitName}`).expect(404);
  await eventually(async () => ((await running()) ? undefined : true), 20_000, 'the unit container gone');
});

test("a non-admin sees the API's refusal on Units and Users, and nothing of a stranger's container", async () => {
  const bobToken = await system.token('bob');
  const adminOwn = await system.create(token, { container_args: ['sleep', '60'] });
  const bob = await browser.page();
  await logIn(bob, 'bob', PASSWORD);
  const units = await system.http().get('/fleet/v1/units').set(...system.auth(bobToken));
  expect(units.status).toBe(403);
  await bob.goto(`${base}/units`);
  await expect(bob.getByTestId('refused').textContent()).resolves.toBe((units.body as { error: { message: string } }).error.message);
  await expect(bob.getByRole('table').count()).resolves.toBe(0);
  await expect(bob.getByRole('form').count()).resolves.toBe(0);
  await browser.screenshot(bob, 'non-admin-units');

  const users = await system.http().get('/v1/users/').set(...system.auth(bobToken));
  expect(users.status).toBe(403);
  await bob.goto(`${base}/users`);
  await expect(bob.getByTestId('refused').textContent()).resolves.toBe((users.body as { detail: string }).detail);
  await expect(bob.getByRole('table').count()).resolves.toBe(0);
  await expect(bob.getByRole('form').count()).resolves.toBe(0);

  // A stranger's container: the API's "not found", and none of its tools.
  await bob.goto(`${base}/containers/${adminOwn}`);
  const missing = await system.http().get(`/v1/container/${adminOwn}`).set(...system.auth(bobToken));
  expect(missing.status).toBe(404);
  await expect(bob.getByTestId('not-found').textContent()).resolves.toBe((missing.body as { detail: string }).detail);
  for (const heading of ['Output', 'Metrics', 'Terminal', 'Changed files', 'Snapshot and fork']) await expect(bob.getByRole('heading', { name: heading }).count()).resolves.toBe(0);
  await system.http().delete(`/v1/container/${adminOwn}`).set(...system.auth(token)).expect(204);
  await bob.context().close();
});

test('no console errors on any page', () => {
  expect(browser.consoleErrors).toEqual([]);
});
