/**
 * Peak resident memory of processes during a window: VmRSS sampled from /proc/<pid>/status every
 * ~20 ms, cross-checked with the kernel's own high-water mark (VmHWM, reset at the start of the
 * window by writing 5 to /proc/<pid>/clear_refs, which needs the process to be ours or root).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const MiB = 1024 * 1024;

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : null;
  } catch {
    return null;
  }
}

export const rssBytes = (pid: number): number | null => statusField(pid, 'VmRSS');

function resetHighWaterMark(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

export interface RssWindow {
  /** RSS when the window opened. */
  baselineMiB: number;
  /** Highest RSS seen in the window (sampled, or the kernel's high-water mark if higher). */
  peakMiB: number;
  growthMiB: number;
  samples: number;
}

/** Watches several processes; `stop()` answers per process name. Windows may be reopened (`resume`). */
export class RssWatch {
  private readonly baseline = new Map<string, number>();
  private readonly peak = new Map<string, number>();
  private readonly hwmUsable = new Map<string, boolean>();
  private samples = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: Record<string, number>, private readonly intervalMs = 20) {
    for (const [name, pid] of Object.entries(pids)) {
      const rss = rssBytes(pid) ?? 0;
      this.baseline.set(name, rss);
      this.peak.set(name, rss);
      this.hwmUsable.set(name, resetHighWaterMark(pid));
    }
  }

  private sample(): void {
    this.samples++;
    for (const [name, pid] of Object.entries(this.pids)) {
      const rss = rssBytes(pid);
      if (rss !== null && rss > (this.peak.get(name) ?? 0)) this.peak.set(name, rss);
    }
  }

  /** Starts (or resumes) sampling. */
  resume(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  /** Pauses sampling (between the measured iterations). */
  pause(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }

  stop(): Record<string, RssWindow> {
    this.pause();
    const out: Record<string, RssWindow> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      let peak = this.peak.get(name) ?? 0;
      if (this.hwmUsable.get(name)) peak = Math.max(peak, statusField(pid, 'VmHWM') ?? 0);
      const baseline = this.baseline.get(name) ?? 0;
      out[name] = { baselineMiB: baseline / MiB, peakMiB: peak / MiB, growthMiB: Math.max(0, peak - baseline) / MiB, samples: this.samples };
    }
    return out;
  }
}
