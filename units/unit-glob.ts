/**
 * Glob patterns on unit names, as fleet matches Conflicts/Replaces (Go's path.Match):
 * `*` any run of characters, `?` one character, `[a-z]` / `[^0-9]` classes, `\` escapes.
 * A malformed pattern matches nothing.
 */

/** A literal character as a RegExp escape, valid inside and outside classes in `u` mode. */
function escapeForRegex(char: string): string {
  return `\\u{${(char.codePointAt(0) as number).toString(16)}}`;
}

/** Translates a glob to an anchored RegExp, or null when the pattern is malformed. */
function globToRegExp(pattern: string): RegExp | null {
  const chars = [...pattern];
  let source = '';
  for (let i = 0; i < chars.length; i += 1) {
    const char = chars[i];
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else if (char === '\\') {
      i += 1;
      if (i >= chars.length) return null;
      source += escapeForRegex(chars[i]);
    } else if (char === '[') {
      let cls = '';
      i += 1;
      if (chars[i] === '^') {
        cls += '^';
        i += 1;
      }
      let ranges = 0;
      for (;;) {
        if (i >= chars.length) return null;
        if (chars[i] === ']' && ranges > 0) break;
        const take = (): string | null => {
          let c = chars[i];
          if (c === undefined || c === '-' || c === ']') return null;
          if (c === '\\') {
            i += 1;
            c = chars[i];
            if (c === undefined) return null;
          }
          i += 1;
          return c;
        };
        const low = take();
        if (low === null) return null;
        let high = low;
        if (chars[i] === '-') {
          i += 1;
          const end = take();
          if (end === null || (end.codePointAt(0) as number) < (low.codePointAt(0) as number)) return null;
          high = end;
        }
        cls += low === high ? escapeForRegex(low) : `${escapeForRegex(low)}-${escapeForRegex(high)}`;
        ranges += 1;
      }
      source += `[${cls}]`;
    } else source += escapeForRegex(char);
  }
  return new RegExp(`^${source}$`, 'su');
}

/** Whether unit name `name` matches glob `pattern`. */
export function matchUnitGlob(pattern: string, name: string): boolean {
  const regex = globToRegExp(pattern);
  return regex !== null && regex.test(name);
}
