/**
 * The container page's tools in a real browser (headless Debian Chromium, playwright-core) against a
 * real BoatLoad on the real engine: the metrics chart fills over time, the terminal (xterm.js on the
 * terminal WebSocket, the session cookie as its credential) runs a command in the container, and
 * snapshot and fork make a real snapshot and a real copy. Screenshots: .run/ui-screenshots/container-tools/.
 */
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../support/browser';
import { startSandboxSystem, type SandboxSystem } from '../support/resources';

jest.setTimeout(60_000);

let system: SandboxSystem;
let base: string;
let browser: TestBrowser;
let page: Page;
let token: string;
/** A running container that keeps one CPU busy. */
let busy: string;
const made: string[] = [];

beforeAll(async () => {
  [system, browser] = await Promise.all([startSandboxSystem(), launchBrowser('container-tools')]);
  base = await system.listen();
  token = await system.token('admin');
  busy = await system.create(token, { container_args: ['sh', '-c', 'echo busy-loop-started; while :; do :; done'] });
  made.push(busy);
  page = await browser.page();
  await page.goto(`${base}/`);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('admin');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Containers' }).waitFor();
});

afterAll(async () => {
  for (const id of made) await system.http().delete(`/v1/container/${id}`).set(...system.auth(token));
  await browser?.close();
  await system?.close();
});

/** The number in a latest-value caption such as "cpu 98.1 %". */
const latestNumber = async (testid: string): Promise<number> => Number(/(\d+(?:\.\d+)?)/.exec((await page.getByTestId(`${testid}-latest`).textContent()) ?? '')?.[1]);

test('the metrics chart fills with samples over time: CPU of a busy loop, memory, network', async () => {
  await page.goto(`${base}/containers/${busy}`);
  await page.getByTestId('status').filter({ hasText: 'running' }).waitFor({ timeout: 15_000 });
  const cpu = page.getByTestId('metric-cpu');
  // Three samples, 2 s apart: the chart grows on the open page.
  await page.locator('[data-testid="metric-cpu"][data-samples="3"]').waitFor({ timeout: 20_000 });
  await expect(cpu.locator('polyline').getAttribute('points')).resolves.toMatch(/^(\S+,\S+ ){2}\S+,\S+$/);
  // The busy loop uses CPU; the engine says so through the API, and the chart shows it.
  expect(await latestNumber('metric-cpu')).toBeGreaterThan(1);
  await expect(page.getByTestId('metric-memory-latest').textContent()).resolves.toMatch(/^used \d+(\.\d)? (B|KiB|MiB|GiB)$/);
  await expect(page.getByTestId('metric-network-latest').textContent()).resolves.toMatch(/^in \d+(\.\d)? (B|KiB|MiB)\/s · out \d+(\.\d)? (B|KiB|MiB)\/s$/);
  const api = (await system.http().get(`/v1/container/${busy}/metrics`).set(...system.auth(token)).expect(200)).body as { memory: { usage_bytes: number } };
  expect(api.memory.usage_bytes).toBeGreaterThan(0);
  await browser.screenshot(page, 'metrics');
  // At 390 px wide (a phone) the page does not scroll sideways.
  await page.setViewportSize({ width: 390, height: 800 });
  await expect(page.evaluate<number>('document.documentElement.scrollWidth')).resolves.toBeLessThanOrEqual(390);
  await browser.screenshot(page, 'container-page-390px');
  await page.setViewportSize({ width: 1280, height: 800 });
});

test('the terminal runs a shell in the container: typed commands run there, exit ends it', async () => {
  await page.getByRole('button', { name: 'Open a terminal' }).click();
  await page.getByTestId('terminal-status').filter({ hasText: 'connected' }).waitFor({ timeout: 15_000 });
  await page.getByTestId('terminal').click();
  await page.keyboard.type('echo term-$((6*7)) > /from-terminal.txt; cat /from-terminal.txt\n');
  const rows = page.getByTestId('terminal').locator('.xterm-rows');
  // The command line echoes "$((6*7))"; only the shell's output says 42.
  await rows.filter({ hasText: /term-42/ }).waitFor({ timeout: 15_000 });
  await browser.screenshot(page, 'terminal');
  // It ran in the container: the file is there, with the shell's bytes.
  const file = await system.http().get(`/v1/container/${busy}/file/from-terminal.txt`).set(...system.auth(token)).buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
  expect(file.status).toBe(200);
  expect((file.body as Buffer).toString('utf8')).toBe('term-42\n');
  await page.keyboard.type('exit 3\n');
  await page.getByTestId('terminal-status').filter({ hasText: 'ended (exit 3)' }).waitFor({ timeout: 15_000 });
  await page.getByRole('button', { name: 'Close the terminal' }).click();
  await page.getByTestId('terminal').waitFor({ state: 'detached' });
});

test('snapshot and fork: a named snapshot, then a copy that opens on its own page', async () => {
  await page.getByLabel('Snapshot name (optional)').fill('ui-snap');
  await page.getByRole('button', { name: 'Take a snapshot' }).click();
  const taken = page.getByTestId('snapshot-result');
  await taken.waitFor({ timeout: 30_000 });
  const snapshots = (await system.http().get('/v1/snapshots/').set(...system.auth(token)).expect(200)).body as Array<{ id: string; name: string | null; container: string }>;
  const mine = snapshots.find((s) => s.name === 'ui-snap');
  expect(mine?.container).toBe(busy);
  await expect(taken.textContent()).resolves.toContain(mine?.id);

  await page.getByLabel('Copies').fill('1');
  await page.getByRole('button', { name: 'Fork' }).click();
  const forked = page.getByTestId('fork-result');
  await forked.waitFor({ timeout: 40_000 });
  const links = forked.getByRole('link');
  await expect(links.count()).resolves.toBe(1);
  const copy = ((await links.textContent()) ?? '').trim();
  made.push(copy);
  const record = (await system.http().get(`/v1/container/${copy}`).set(...system.auth(token)).expect(200)).body as { owner: string };
  expect(record.owner).toBe('admin');
  await browser.screenshot(page, 'snapshot-fork');
  await links.click();
  await page.getByRole('heading', { name: `Container ${copy.slice(0, 12)}` }).waitFor();
  expect(new URL(page.url()).pathname).toBe(`/containers/${copy}`);
});

test('a refused fork shows the API\'s own message', async () => {
  await page.goto(`${base}/containers/${busy}`);
  await page.getByLabel('Copies').fill('1000');
  await page.getByRole('button', { name: 'Fork' }).click();
  const refused = await system.http().post(`/v1/container/${busy}/fork`).set(...system.auth(token)).send({ count: 1000 });
  expect(refused.status).toBe(400);
  const body = refused.body as Record<string, string[]>;
  await expect(page.getByRole('alert').textContent()).resolves.toBe(`count: ${body.count?.join(' ')}`);
});

test('no console errors on any page', () => {
  expect(browser.consoleErrors).toEqual([]);
});
