/**
 * CPU time of a process from /proc/<pid>/stat (utime + stime). Unlike wall-clock time it hardly
 * depends on what else the machine is doing, so CPU milliseconds per MiB or per request is the
 * steadier measure of what BoatLoad's own processes cost.
 */
import { readFileSync } from 'node:fs';

// USER_HZ: 100 on every Linux configuration that matters here (getconf CLK_TCK).
const TICK_MS = 10;

export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields resume after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** CPU milliseconds each named process used while `fn` ran. */
export async function cpuDuring<T>(pids: Record<string, number>, fn: () => Promise<T>): Promise<{ value: T; cpu: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid) ?? 0]));
  const value = await fn();
  const cpu = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, (cpuMs(pid) ?? 0) - before[name]]));
  return { value, cpu };
}
