/** systemd unit files ↔ fleet's options ([{section, name, value}]), as fleetctl reads and prints them. */
import type { UnitOption } from '../client';
import { CliError } from './errors';

export function parseUnitFile(text: string, file: string): UnitOption[] {
  const options: UnitOption[] = [];
  let section: string | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] ?? '').trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    // A trailing backslash continues the line.
    while (line.endsWith('\\') && i + 1 < lines.length) {
      line = line.slice(0, -1).trimEnd() + ' ' + (lines[++i] ?? '').trim();
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1] ?? '';
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new CliError(`${file}:${i + 1}: expected Name=value or [Section].`);
    if (section === null) throw new CliError(`${file}:${i + 1}: an option before any [Section].`);
    options.push({ section, name: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim() });
  }
  if (!options.length) throw new CliError(`${file}: no options: is it a unit file?`);
  return options;
}

export function renderUnitFile(options: UnitOption[]): string {
  const lines: string[] = [];
  let section: string | null = null;
  for (const option of options) {
    if (option.section !== section) {
      if (section !== null) lines.push('');
      lines.push(`[${option.section}]`);
      section = option.section;
    }
    lines.push(`${option.name}=${option.value}`);
  }
  return lines.join('\n') + '\n';
}
