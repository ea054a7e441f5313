/** Seeded generators of hostile strings for the units/ property tests. */

export type Random = () => number;

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

export function integer(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

const PIECES: readonly string[] = [
  '\\', '"', "'", '%', '$', ';', '=', '#', ' ', '  ', '\t', '\n', '\r', '\r\n', '\\\n', '[Service]', '[X-Fleet]',
  '\nExecStartPre=/bin/sh -c evil', '%n', '%%', '%i', '$$', '${HOME}', '$HOME', '\\x41', '\\;', ' ; ', '\\n',
  '-', '@', '+', '!', ':', '--rm', '-e', 'é', '中文', '😀', '\u2028', '\u2029', '\uFEFF', '\u0085', '\u00a0',
  '\u0001', '\u001b', '\u007f', '\u009f', '\v', '\f', 'a', 'Z', '0', '/', '.', '`', '(', ')', '*', '?', '[', ']',
  '{', '}', '|', '&', '<', '>', '~', '^',
];

/** A string built from shell, systemd and unit-file metacharacters (never NUL or lone surrogates). */
export function nastyString(random: Random, maxPieces = 12): string {
  const count = integer(random, 0, maxPieces);
  let text = '';
  for (let i = 0; i < count; i += 1) {
    text += random() < 0.15 ? String.fromCodePoint(integer(random, 1, 0x2ff)) : pick(random, PIECES);
  }
  return text;
}
