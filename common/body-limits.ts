/**
 * The largest JSON request body that can carry a script of `scriptMaxBytes`: base64 grows it by a
 * third, and the rest of a create request (args, env, volumes, labels) fits in 256 KiB. The API
 * and the satellite both size their body parsers with it, so the two cannot disagree.
 */
export function jsonBodyLimitFor(scriptMaxBytes: number): number {
  return Math.ceil((scriptMaxBytes * 4) / 3) + 256 * 1024;
}
