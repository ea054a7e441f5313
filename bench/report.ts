/**
 * The bench's output: a table on stdout and the same as JSON in bench/results/ (latest.json for
 * full runs, latest-quick.json for --quick, and a timestamped copy of every run).
 */
import type Docker from 'dockerode';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname, release, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Row, Target } from './scenarios/types';
import type { Summary } from './stats';

export interface MachineInfo {
  hostname: string;
  cpu_model: string;
  cores: number;
  memory_gib: number;
  kernel: string;
  engine: { version: string; api_version: string; storage_driver?: string; cgroup?: string } | string;
  node: string;
  git?: { commit: string; dirty: boolean };
}

export async function machineInfo(docker: Docker, root: string): Promise<MachineInfo> {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel;
  } catch {
    // keep os.cpus()'s
  }
  let engine: MachineInfo['engine'];
  try {
    const version = await docker.version();
    const info = (await docker.info()) as { Driver?: string; CgroupVersion?: string };
    engine = { version: version.Version, api_version: version.ApiVersion, storage_driver: info.Driver, cgroup: info.CgroupVersion };
  } catch (err) {
    engine = `unavailable: ${(err as Error).message}`;
  }
  let git: MachineInfo['git'];
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    git = { commit, dirty };
  } catch {
    git = undefined;
  }
  return {
    hostname: hostname(),
    cpu_model: cpuModel,
    cores: cpus().length,
    memory_gib: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    engine,
    node: process.version,
    git,
  };
}

function figure(row: Row, on: Target['on']): number | null {
  switch (on) {
    case 'ratio':
      return row.ratio;
    case 'boatload.median':
      return row.boatload?.median ?? null;
    case 'boatload.p99':
      return row.boatload?.p99 ?? null;
    case 'boatload.max':
      return row.boatload?.max ?? null;
  }
}

/** Whether the row meets its target; null when not judged (skipped, no target, or --quick). */
export function judge(row: Row, quick: boolean): boolean | null {
  if (row.status !== 'measured' || !row.target || quick) return row.status === 'failed' ? false : null;
  const value = figure(row, row.target.on);
  if (value === null || Number.isNaN(value)) return false;
  const { op, value: limit } = row.target;
  const ok = op === '<=' ? value <= limit : op === '>=' ? value >= limit : op === '<' ? value < limit : value > limit;
  return ok && Object.values(row.target.conditions ?? {}).every(Boolean);
}

function targetText(target: Target | null): string {
  if (!target) return '-';
  const what = target.on === 'ratio' ? 'ratio' : target.on.replace('boatload.', '');
  const extra = target.conditions ? ` + ${Object.keys(target.conditions).join(', ')}` : '';
  return `${what} ${target.op.replace('<=', '≤').replace('>=', '≥')} ${target.value}${extra}`;
}

function num(value: number | undefined | null): string {
  if (value === undefined || value === null || Number.isNaN(value)) return '-';
  const abs = Math.abs(value);
  return abs >= 1000 ? value.toFixed(0) : abs >= 100 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toFixed(3);
}

const pad = (text: string, width: number): string => (text.length >= width ? text : text + ' '.repeat(width - text.length));
const padLeft = (text: string, width: number): string => (text.length >= width ? text : ' '.repeat(width - text.length) + text);

export function formatTable(rows: Row[], quick: boolean): string {
  const header = ['scenario', 'unit', 'BL median', 'BL p95', 'raw median', 'raw p95', 'ratio', 'target', 'met'];
  const lines: string[][] = [];
  for (const row of rows) {
    const met = judge(row, quick);
    const full = `${row.scenario.split(' ')[0]} ${row.name}`;
    const label = full.length > 64 ? `${full.slice(0, 63)}…` : full;
    if (row.status !== 'measured') {
      lines.push([label, row.unit, '', '', '', '', '', targetText(row.target), row.status === 'skipped' ? 'skipped' : 'FAILED']);
      lines.push([`    ${row.reason ?? ''}`, '', '', '', '', '', '', '', '']);
      continue;
    }
    lines.push([
      label,
      row.unit,
      num(row.boatload?.median),
      num(row.boatload?.p95),
      num(row.raw?.median),
      num(row.raw?.p95),
      row.ratio === null ? '-' : row.ratio.toFixed(2),
      targetText(row.target),
      met === null ? (quick && row.target ? 'n/a (quick)' : '-') : met ? 'yes' : 'NO',
    ]);
  }
  const isNote = (cells: string[]): boolean => cells[0].startsWith('    ') && cells.slice(1).every((c) => c === '');
  const widths = header.map((h, i) => Math.max(h.length, ...lines.filter((l) => !isNote(l)).map((l) => l[i].length)));
  widths[0] = Math.min(widths[0], 64);
  const numeric = new Set([2, 3, 4, 5, 6]);
  const render = (cells: string[]): string =>
    isNote(cells) ? cells[0] : cells.map((c, i) => (numeric.has(i) ? padLeft(c, widths[i]) : pad(c, widths[i]))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [render(header), rule, ...lines.map(render)].join('\n');
}

function roundSummary(summary: Summary | null): Record<string, number> | null {
  if (!summary) return null;
  const r = (v: number): number => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);
  return { median: r(summary.median), p95: r(summary.p95), p99: r(summary.p99), min: r(summary.min), max: r(summary.max), mean: r(summary.mean), n: summary.n };
}

export interface RunInfo {
  started: string;
  finished: string;
  duration_s: number;
  mode: 'full' | 'quick';
  only: string[] | null;
  /** --iterations override, if any. */
  iterations: number | null;
  failures: string[];
  /** 1-minute load average when the run started and ended: other work on a shared machine shows here. */
  loadavg_start: number;
  loadavg_end: number;
}

export function resultsDocument(machine: MachineInfo, run: RunInfo, rows: Row[], quick: boolean): unknown {
  return {
    machine,
    run,
    scenarios: rows.map((row) => ({
      name: `${row.scenario}: ${row.name}`,
      scenario: row.scenario,
      status: row.status,
      unit: row.unit,
      boatload: roundSummary(row.boatload),
      raw: roundSummary(row.raw),
      ratio: row.ratio === null ? null : Math.round(row.ratio * 1000) / 1000,
      target: row.target?.value ?? null,
      target_on: row.target?.on ?? null,
      target_op: row.target?.op ?? null,
      target_conditions: row.target?.conditions ?? null,
      higher_is_better: row.higherIsBetter,
      met: judge(row, quick),
      reason: row.reason ?? null,
      extra: row.extra ?? null,
    })),
  };
}

/** Writes the results and a timestamped copy; answers the paths written. */
export function writeResults(dir: string, doc: unknown, quick: boolean): string[] {
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const latest = join(dir, quick ? 'latest-quick.json' : 'latest.json');
  const copy = join(dir, `${stamp}${quick ? '-quick' : ''}.json`);
  writeFileSync(latest, JSON.stringify(doc, null, 2) + '\n');
  copyFileSync(latest, copy);
  return [latest, copy];
}
