/**
 * The dashboard in a real browser (headless Debian Chromium, playwright-core) against a real
 * BoatLoad on the real engine, walking what a person does. One browser for the file; each user has
 * a page of their own. Screenshots of each step: .run/ui-screenshots/dashboard/.
 */
import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';
import { PASSWORD } from '../support/system';

jest.setTimeout(90_000);

let system: SandboxSystem;
let base: string;
let browser: TestBrowser;
let admin: Page;
let adminToken: string;
/** The admin's one-shot container, created through the API. */
let adminContainer: string;

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

const row = (page: Page, id: string) => page.locator(`tr[data-id="${id}"]`);

beforeAll(async () => {
  [system, browser] = await Promise.all([startSandboxSystem(), launchBrowser('dashboard')]);
  base = await system.listen();
  adminToken = await system.token('admin');
  admin = await browser.page();
});

afterAll(async () => {
  await browser?.close();
  await system?.close();
});

test("a wrong password shows the API's own message", async () => {
  const answer = await system.http().post('/v1/auth/login').send({ username: 'nobody', password: 'wrong' });
  const message = (answer.body.non_field_errors as string[])[0];
  expect(message).toMatch(/credentials/);
  await logIn(admin, 'admin', 'not-the-password');
  await expect(admin.getByRole('alert').textContent()).resolves.toBe(message);
  await browser.screenshot(admin, 'wrong-password');
});

test('logs in and sees a container appear in the list, its state changing without a reload', async () => {
  await logIn(admin, 'admin', 'admin');
  await admin.getByRole('heading', { name: 'Containers' }).waitFor();
  // A marker on the window: gone if the page reloads.
  await admin.evaluate(() => Object.assign(globalThis, { boatloadMarker: 1 }));
  adminContainer = await system.create(adminToken, { container_args: ['sh', '-c', 'sleep 4'] });
  await row(admin, adminContainer).getByTestId('state').filter({ hasText: 'running' }).waitFor({ timeout: 15_000 });
  await browser.screenshot(admin, 'list-running');
  await row(admin, adminContainer).getByTestId('state').filter({ hasText: 'exited' }).waitFor({ timeout: 20_000 });
  await expect(admin.evaluate(() => (globalThis as { boatloadMarker?: number }).boatloadMarker)).resolves.toBe(1);
  // Admins see the owner column; the filter hides what is not in the chosen state.
  await expect(row(admin, adminContainer).textContent()).resolves.toContain('admin');
  await admin.getByLabel('State').selectOption('running');
  await row(admin, adminContainer).waitFor({ state: 'detached' });
  await admin.getByLabel('State').selectOption('exited');
  await row(admin, adminContainer).waitFor();
  await admin.getByLabel('State').selectOption('');
});

test('creates a script container from the form, follows its output live, runs an exec, downloads its files, deletes it', async () => {
  const before = new Set(((await system.http().get('/v1/container/').set(...system.auth(adminToken))).body as Array<{ id: string }>).map((c) => c.id));
  await admin.getByRole('button', { name: 'New container' }).click();
  const script = ['#!/bin/sh', 'echo first-line', "printf 'ui-bytes\\n' > /result.txt", 'sleep 3', 'echo second-line', 'sleep 120', ''].join('\n');
  await admin.getByLabel('Script', { exact: true }).fill(script);
  await admin.getByLabel('Environment (NAME=value, one a line)').fill('GREETING=hi');
  await browser.screenshot(admin, 'create-form');
  await admin.getByRole('button', { name: 'Create' }).click();
  await admin.getByRole('form', { name: 'New container' }).waitFor({ state: 'detached' });
  const listed = (await system.http().get('/v1/container/').set(...system.auth(adminToken))).body as Array<{ id: string }>;
  const id = listed.map((c) => c.id).find((c) => !before.has(c));
  if (!id) throw new Error('the form created no container');
  const record = await system.http().get(`/v1/container/${id}`).set(...system.auth(adminToken));
  expect(record.body.env).toEqual({ GREETING: 'hi' });

  await row(admin, id).getByRole('link').click();
  expect(new URL(admin.url()).pathname).toBe(`/containers/${id}`);
  const output = admin.getByTestId('output');
  await output.filter({ hasText: 'first-line' }).waitFor({ timeout: 20_000 });
  // The second line is printed 3 s after the first: it arrives on the open page, through the stream.
  await output.filter({ hasText: 'second-line' }).waitFor({ timeout: 20_000 });
  await expect(output.textContent()).resolves.toBe('first-line\nsecond-line\n');
  await expect(admin.getByTestId('status').textContent()).resolves.toContain('running');
  await expect(admin.getByTestId('fleet-state').textContent()).resolves.toBe('active (running)');
  await expect(admin.getByTestId('docker-state').textContent()).resolves.toBe('running');

  await admin.getByLabel('Command (run by /bin/sh -c)').fill('echo exec-$((6*7)) $GREETING');
  await admin.getByRole('button', { name: 'Run' }).click();
  await admin.getByTestId('exec-stdout').filter({ hasText: 'exec-42 hi' }).waitFor();
  await expect(admin.getByTestId('exec-exit').textContent()).resolves.toBe('0');

  const fileLink = admin.getByRole('link', { name: '/result.txt' });
  await fileLink.waitFor({ timeout: 15_000 });
  await browser.screenshot(admin, 'container-page');
  const [download] = await Promise.all([admin.waitForEvent('download'), fileLink.click()]);
  expect(download.suggestedFilename()).toBe('result.txt');
  expect(readFileSync(await download.path()).toString('utf8')).toBe('ui-bytes\n');
  const [archive] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('link', { name: 'Download all changes (tar)' }).click()]);
  expect(archive.suggestedFilename()).toBe(`${id}.tar`);
  expect(readFileSync(await archive.path()).includes(Buffer.from('ui-bytes\n'))).toBe(true);

  await admin.getByRole('button', { name: `Delete ${id}` }).click();
  await admin.getByRole('button', { name: 'Yes, delete' }).click();
  await admin.getByRole('heading', { name: 'Containers' }).waitFor();
  await row(admin, id).waitFor({ state: 'detached' });
  await system.http().get(`/v1/container/${id}`).set(...system.auth(adminToken)).expect(404);
});

test('creates a web server with limits, a port, a hostname and a network from the form; its page links to where the port is published', async () => {
  const before = new Set(((await system.http().get('/v1/container/').set(...system.auth(adminToken))).body as Array<{ id: string }>).map((c) => c.id));
  await admin.goto(`${base}/`);
  await admin.getByRole('button', { name: 'New container' }).click();
  await admin.getByLabel('Script', { exact: true }).fill('#!/bin/sh\nmkdir -p /www && echo ui-web > /www/index.html && exec httpd -f -p 8080 -h /www\n');
  await admin.getByLabel('Ports').fill('8080');
  await admin.getByLabel('Hostname').fill('site');
  await admin.getByLabel('Network').selectOption('internet');
  await admin.getByLabel('Memory (MiB)').fill('64');
  await admin.getByLabel('CPUs').fill('0.5');
  await admin.getByLabel('Processes').fill('64');
  await admin.getByLabel('Permanent (restarted always)').check();
  await admin.getByRole('button', { name: 'Create' }).click();
  await admin.getByRole('form', { name: 'New container' }).waitFor({ state: 'detached' });
  const listed = (await system.http().get('/v1/container/').set(...system.auth(adminToken))).body as Array<{ id: string }>;
  const id = listed.map((c) => c.id).find((c) => !before.has(c));
  if (!id) throw new Error('the form created no container');
  try {
    const record = (await system.http().get(`/v1/container/${id}`).set(...system.auth(adminToken)).expect(200)).body;
    expect(record).toMatchObject({ hostname: 'site', network: 'internet', ports: [expect.objectContaining({ port: 8080, protocol: 'tcp' })] });
    // The limits reached the engine.
    const engine = await new Docker().getContainer(`boatload-${id}`).inspect();
    expect(engine.HostConfig).toMatchObject({ Memory: 64 * 1024 * 1024, NanoCpus: 0.5e9, PidsLimit: 64 });
    await admin.goto(`${base}/containers/${id}`);
    await expect(admin.getByTestId('network').textContent()).resolves.toBe('internet, hostname site');
    const link = admin.getByTestId('ports').getByRole('link');
    await link.waitFor({ timeout: 20_000 });
    const href = await link.getAttribute('href');
    expect(href).toMatch(/^http:\/\/[\d.]+:\d+\/$/);
    await expect(admin.getByTestId('ports').textContent()).resolves.toMatch(/^8080\/tcp → [\d.]+:\d+$/);
    // The link reaches the container's web server.
    let page = '';
    for (let i = 0; i < 50 && page !== 'ui-web\n'; i++) {
      page = await fetch(href as string).then((res) => res.text(), () => '');
      if (page !== 'ui-web\n') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(page).toBe('ui-web\n');
  } finally {
    await system.http().delete(`/v1/container/${id}/`).set(...system.auth(adminToken)).expect(204);
  }
});

test("a second user sees only their own containers, and a stranger's container is not found", async () => {
  const bobToken = await system.token('bob');
  const own = await system.create(bobToken, { container_args: ['sleep', '60'] });
  const bob = await browser.page();
  await logIn(bob, 'bob', PASSWORD);
  await row(bob, own).waitFor({ timeout: 15_000 });
  await expect(bob.locator('tbody tr').count()).resolves.toBe(1);
  await expect(row(bob, adminContainer).count()).resolves.toBe(0);
  await expect(bob.getByRole('columnheader', { name: 'Owner' }).count()).resolves.toBe(0);
  await browser.screenshot(bob, 'second-user-list');
  // At 390 px wide (a phone) the page does not scroll sideways: wide tables scroll in their own box.
  await bob.setViewportSize({ width: 390, height: 800 });
  await expect(bob.evaluate<number>('document.documentElement.scrollWidth')).resolves.toBeLessThanOrEqual(390);
  await browser.screenshot(bob, 'second-user-list-390px');
  await bob.setViewportSize({ width: 1280, height: 800 });
  await bob.goto(`${base}/containers/${adminContainer}`);
  await expect(bob.getByTestId('not-found').textContent()).resolves.toBe('Not found.');
  await browser.screenshot(bob, 'stranger-not-found');
  // Not an admin: no Units or Users in the navigation.
  await expect(bob.getByRole('navigation', { name: 'Pages' }).getByRole('link').allTextContents()).resolves.toEqual(['Containers']);
  await bob.context().close();
});

test("changing your password ends the session; the new one logs in; a wrong current password shows the API's message", async () => {
  const carolToken = await system.token('carol');
  expect(carolToken).toBeTruthy();
  const carol = await browser.page();
  await logIn(carol, 'carol', PASSWORD);
  await carol.getByRole('link', { name: 'carol' }).click();
  const change = async (old: string, next: string): Promise<void> => {
    await carol.getByLabel('Current password').fill(old);
    await carol.getByLabel('New password', { exact: true }).fill(next);
    await carol.getByLabel('New password again').fill(next);
    await carol.getByRole('button', { name: 'Change password' }).click();
  };
  await change('wrong-old-password', 'a-new-password-1');
  const refused = await system.http().post('/v1/auth/password').set('Authorization', `JWT ${carolToken}`).send({ old_password: 'wrong-old-password', new_password: 'a-new-password-1' });
  expect(refused.status).toBe(400);
  await expect(carol.getByRole('alert').textContent()).resolves.toBe(Object.entries(refused.body as Record<string, string[]>).map(([field, msgs]) => (field === 'non_field_errors' ? msgs.join(' ') : `${field}: ${msgs.join(' ')}`)).join('; '));
  await change(PASSWORD, 'a-new-password-1');
  await carol.getByRole('status').filter({ hasText: 'password was changed' }).waitFor();
  await logIn(carol, 'carol', 'a-new-password-1');
  await carol.getByRole('heading', { name: 'Containers' }).waitFor();
  await carol.context().close();
});

test('admins list, create and delete users, and see the fleet units', async () => {
  await admin.getByRole('link', { name: 'Users' }).click();
  await admin.getByRole('heading', { name: 'Users' }).waitFor();
  const form = admin.getByRole('form', { name: 'New user' });
  await form.getByLabel('Username').fill('dave');
  await form.getByLabel('Password').fill('x');
  await form.getByRole('button', { name: 'Create user' }).click();
  // The API's refusal of a short password, as the API words it.
  const refused = await system.http().post('/v1/users/').set(...system.auth(adminToken)).send({ username: 'dave', password: 'x' });
  expect(refused.status).toBe(400);
  await expect(form.getByRole('alert').textContent()).resolves.toContain((refused.body as { password: string[] }).password[0]);
  await form.getByLabel('Password').fill('dave-password-1');
  await form.getByRole('button', { name: 'Create user' }).click();
  await admin.locator('tr[data-user="dave"]').waitFor();
  await browser.screenshot(admin, 'users');
  await admin.getByRole('button', { name: 'Delete dave' }).click();
  await admin.getByRole('button', { name: 'Yes, delete' }).click();
  await admin.locator('tr[data-user="dave"]').waitFor({ state: 'detached' });
  const users = (await system.http().get('/v1/users/').set(...system.auth(adminToken))).body as Array<{ username: string }>;
  expect(users.map((u) => u.username)).not.toContain('dave');

  const unit = ((await system.http().get(`/v1/container/${adminContainer}`).set(...system.auth(adminToken))).body as { unit: string }).unit;
  await admin.getByRole('link', { name: 'Units' }).click();
  await admin.locator(`tr[data-unit="${unit}"]`).waitFor({ timeout: 10_000 });
  await browser.screenshot(admin, 'units');
});

test('logs out: the session is gone', async () => {
  await admin.getByRole('button', { name: 'Log out' }).click();
  await admin.getByRole('button', { name: 'Log in' }).waitFor();
  await admin.reload();
  await admin.getByRole('button', { name: 'Log in' }).waitFor();
  await expect(admin.evaluate(async () => (await fetch('/v1/auth/me')).status)).resolves.toBe(401);
});

test('no console errors on any page', () => {
  expect(browser.consoleErrors).toEqual([]);
});
