/**
 * The swarm warm pools' choices without a cluster: which node a take tries first (the most idle
 * members; ties take turns, so consecutive takes spread over the nodes) and each node's share of a
 * function's capacity.
 */
import { rankTakeCandidates, spreadCapacity } from '../../../units/scheduler/swarm-warm-choice';

describe('rankTakeCandidates', () => {
  const order = (candidates: Array<{ machineId: string; idle: number }>, last: string | null): string[] => rankTakeCandidates(candidates, last).map((c) => c.machineId);

  test('the node with the most idle members comes first, whatever went before; nodes with none are left out', () => {
    const nodes = [
      { machineId: 'b', idle: 1 },
      { machineId: 'a', idle: 3 },
      { machineId: 'c', idle: 0 },
    ];
    for (const last of [null, 'a', 'b', 'c']) expect(order(nodes, last)).toEqual(['a', 'b']);
  });

  test('tied nodes take turns: consecutive takes, each after the one before, alternate over the nodes', () => {
    // As the pools are between two takes: refilled, every node tied.
    const nodes = [
      { machineId: 'n3', idle: 2 },
      { machineId: 'n2', idle: 2 },
    ];
    const firsts: string[] = [];
    let last: string | null = null;
    for (let i = 0; i < 10; i++) {
      last = order(nodes, last)[0];
      firsts.push(last);
    }
    expect(firsts).toEqual(['n2', 'n3', 'n2', 'n3', 'n2', 'n3', 'n2', 'n3', 'n2', 'n3']);
    // The other stays behind it as a fallback.
    expect(order(nodes, 'n2')).toEqual(['n3', 'n2']);
  });

  test('three tied nodes behind a better one: the better one first, the tied go round after the last', () => {
    const nodes = ['x', 'y', 'z'].map((machineId) => ({ machineId, idle: 1 }));
    nodes.push({ machineId: 'w', idle: 2 });
    expect(order(nodes, null)).toEqual(['w', 'x', 'y', 'z']);
    expect(order(nodes, 'x')).toEqual(['w', 'y', 'z', 'x']);
    expect(order(nodes, 'y')).toEqual(['w', 'z', 'x', 'y']);
    expect(order(nodes, 'z')).toEqual(['w', 'x', 'y', 'z']);
    // The last node gone (not a candidate any more): the next one after it in order.
    expect(order(nodes.filter((n) => n.machineId !== 'y'), 'y')).toEqual(['w', 'z', 'x']);
  });

  test('no candidates, or none idle: nothing to try', () => {
    expect(order([], null)).toEqual([]);
    expect(order([{ machineId: 'a', idle: 0 }], 'a')).toEqual([]);
  });
});

describe('spreadCapacity', () => {
  const sum = (shares: Map<string, number>): number => [...shares.values()].reduce((a, b) => a + b, 0);

  test('the size is split as evenly as it goes, every node named, the total kept', () => {
    for (const size of [0, 1, 2, 3, 4, 5, 7, 10]) {
      for (const nodes of [['a'], ['a', 'b'], ['a', 'b', 'c']]) {
        const shares = spreadCapacity(size, nodes, 'function:alice/f');
        expect([...shares.keys()].sort()).toEqual(nodes);
        expect(sum(shares)).toBe(size);
        const values = [...shares.values()];
        expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(1);
      }
    }
  });

  test('min_warm 2 over two nodes: one member on each', () => {
    expect([...spreadCapacity(2, ['n2', 'n3'], 'function:admin/f').values()]).toEqual([1, 1]);
  });

  test('the same tag gets the same shares whatever the order of the nodes', () => {
    expect(spreadCapacity(1, ['c', 'a', 'b'], 't')).toEqual(spreadCapacity(1, ['a', 'b', 'c'], 't'));
  });

  test("single members of many functions do not all sit on one node", () => {
    const onNode = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      for (const [machineId, share] of spreadCapacity(1, ['a', 'b', 'c'], `function:alice/f${i}`)) onNode.set(machineId, (onNode.get(machineId) ?? 0) + share);
    }
    expect(onNode.size).toBe(3);
    for (const count of onNode.values()) expect(count).toBeGreaterThan(0);
  });

  test('no nodes: no shares', () => {
    expect(spreadCapacity(3, [], 't').size).toBe(0);
  });
});
