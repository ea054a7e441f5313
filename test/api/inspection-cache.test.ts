import { InspectionCache } from '../../api/satellite/inspection-cache';
import type { ContainerInspection } from '../../common/satellite-protocol';

function inspection(name: string, status: string): ContainerInspection {
  return { engineId: `id-${name}`, name, image: 'boatload/base:latest', created: '', labels: {}, state: { Status: status } as ContainerInspection['state'] };
}

describe('inspection cache', () => {
  test('reads through while the feed is not live, and keeps nothing', async () => {
    const cache = new InspectionCache();
    let reads = 0;
    const fetch = async (): Promise<ContainerInspection> => (reads++, inspection('a', 'running'));
    await cache.read('a', fetch);
    await cache.read('a', fetch);
    expect(reads).toBe(2);
  });

  test('keeps an answer while live, until an event or a write forgets it, or the feed is lost', async () => {
    const cache = new InspectionCache();
    cache.setLive(true);
    let status = 'running';
    let reads = 0;
    const fetch = async (): Promise<ContainerInspection> => (reads++, inspection('a', status));
    expect((await cache.read('a', fetch))?.state.Status).toBe('running');
    expect((await cache.read('a', fetch))?.state.Status).toBe('running');
    expect(reads).toBe(1);
    status = 'exited';
    cache.forget('id-a', 'a');
    expect((await cache.read('a', fetch))?.state.Status).toBe('exited');
    expect(reads).toBe(2);
    cache.setLive(false);
    cache.setLive(true);
    await cache.read('a', fetch);
    expect(reads).toBe(3);
  });

  test('an answer overtaken by an event is handed out but not kept; concurrent readers share one read', async () => {
    const cache = new InspectionCache();
    cache.setLive(true);
    let release: (value: ContainerInspection) => void = () => undefined;
    let reads = 0;
    const slow = (): Promise<ContainerInspection> => (reads++, new Promise((resolve) => (release = resolve)));
    const first = cache.read('a', slow);
    const second = cache.read('a', slow);
    expect(reads).toBe(1);
    cache.forget('a');
    release(inspection('a', 'running'));
    expect((await first)?.state.Status).toBe('running');
    expect((await second)?.state.Status).toBe('running');
    const after = await cache.read('a', async () => (reads++, inspection('a', 'exited')));
    expect(after?.state.Status).toBe('exited');
    expect(reads).toBe(2);
  });

  test('an answer is kept only under the name or id it carries', async () => {
    const cache = new InspectionCache();
    cache.setLive(true);
    let reads = 0;
    const fetch = async (): Promise<ContainerInspection> => (reads++, inspection('a', 'running'));
    await cache.read('id-a-prefix', fetch);
    await cache.read('id-a-prefix', fetch);
    expect(reads).toBe(2);
  });
});
