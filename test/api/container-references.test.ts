/** The reference rules that need no engine: which containers a request refers to, and cycles. */
import { reachesSelf, referencesOf, templateReferences } from '../../api/containers/references';

const A = 'a'.repeat(32);
const B = 'b'.repeat(32);

test('templates: #ref.ip, #ref.port, #ref.port.N; ## and other # text are not references', () => {
  expect(templateReferences(`http://#${A}.ip:#${A}.port/ and #${B}.port.5432`)).toEqual([A, A, B]);
  expect(templateReferences('## #fff colour #1 ##x.port')).toEqual([]);
  expect(referencesOf({ env: { X: `#${A}.port` }, links: { db: B } }).sort()).toEqual([A, B]);
});

test('a reference that leads back to the new container is a cycle; a chain or a diamond is not', () => {
  const graph: Record<string, string[]> = { [A]: [B], [B]: ['new'], c: ['d'], d: [], e: ['c', 'd'] };
  const from = (ref: string): string[] => graph[ref] ?? [];
  expect(reachesSelf([A], new Set(['new']), from)).toBe(true);
  expect(reachesSelf(['e'], new Set(['new']), from)).toBe(false);
  expect(reachesSelf(['new'], new Set(['new']), from)).toBe(true);
  // A loop among existing containers does not hang.
  expect(reachesSelf(['x'], new Set(['new']), (ref) => (ref === 'x' ? ['y'] : ['x']))).toBe(false);
});
