/**
 * The swarm warm pools' two choices, as pure functions (swarm-warm.ts applies them): which node a
 * take tries first, and how much of a function's warm capacity each node keeps.
 */

/** A node a take may reserve on: how many idle members (of what the run fits) it keeps. */
export interface TakeCandidate {
  machineId: string;
  idle: number;
}

/**
 * The order in which a take tries the nodes: the most idle members first; among nodes with as many,
 * in machine id order starting after `last` (the node the previous take of the same kind went to),
 * so that consecutive takes go round the tied nodes rather than always to the same one (a pool
 * refills between two takes, so ties are the rule). Nodes without an idle member are left out.
 */
export function rankTakeCandidates<T extends TakeCandidate>(candidates: readonly T[], last: string | null): T[] {
  const byIdle = new Map<number, T[]>();
  for (const candidate of candidates) {
    if (candidate.idle <= 0) continue;
    byIdle.set(candidate.idle, [...(byIdle.get(candidate.idle) ?? []), candidate]);
  }
  return [...byIdle.entries()]
    .sort(([a], [b]) => b - a)
    .flatMap(([, tied]) => {
      const ordered = [...tied].sort((a, b) => byCodeUnits(a.machineId, b.machineId));
      const after = last === null ? 0 : ordered.findIndex((c) => c.machineId > last);
      const start = after < 0 ? 0 : after;
      return [...ordered.slice(start), ...ordered.slice(0, start)];
    });
}

/**
 * Each node's share of a function's `size` members: as even as it goes, the nodes taking the one
 * left over in turn from a place that depends on the tag (so that functions of one or two members
 * do not all sit on the same node). Every node is in the answer, with 0 when it keeps none.
 */
export function spreadCapacity(size: number, machineIds: readonly string[], tag: string): Map<string, number> {
  const nodes = [...new Set(machineIds)].sort();
  const shares = new Map<string, number>();
  if (nodes.length === 0) return shares;
  const whole = Math.max(0, Math.floor(size));
  const base = Math.floor(whole / nodes.length);
  const rest = whole % nodes.length;
  const offset = tagOffset(tag) % nodes.length;
  nodes.forEach((machineId, i) => shares.set(machineId, base + ((i - offset + nodes.length) % nodes.length < rest ? 1 : 0)));
  return shares;
}

/** Plain code-unit order (as `sort()` without a comparator), never the locale's. */
const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A small stable number from a tag (FNV-1a). */
function tagOffset(tag: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < tag.length; i++) {
    hash ^= tag.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
