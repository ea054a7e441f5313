/** Container metrics from the engine's stats, computed the way `docker stats` does. */
import type Docker from 'dockerode';
import type { ContainerMetrics } from '../common/satellite-protocol';

interface CpuSample {
  total: number;
  system: number;
}

interface EngineStats {
  read: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number; percpu_usage?: number[] }; system_cpu_usage?: number; online_cpus?: number };
  precpu_stats?: { cpu_usage?: { total_usage?: number }; system_cpu_usage?: number };
  memory_stats?: { usage?: number; limit?: number; stats?: Record<string, number> };
  networks?: Record<string, { rx_bytes: number; tx_bytes: number }>;
  pids_stats?: { current?: number };
  blkio_stats?: { io_service_bytes_recursive?: Array<{ op: string; value: number }> | null };
}

const MAX_REMEMBERED = 10000;

/**
 * Keeps the previous CPU sample per container: a one-shot sample has no precpu (Docker quirk),
 * so CPU % is computed against the last sample we took.
 */
export class MetricsReader {
  private readonly previous = new Map<string, CpuSample>();

  async read(container: Docker.Container): Promise<ContainerMetrics> {
    const prior = this.previous.get(container.id);
    // The first read of a container waits for the engine's own second sample (~2 s); later reads
    // use one-shot (~1 s) against the sample remembered here.
    const stats = (await container.stats(
      prior ? { stream: false, 'one-shot': true } : { stream: false },
    )) as unknown as EngineStats;
    const cpu = stats.cpu_stats ?? {};
    const current: CpuSample = { total: cpu.cpu_usage?.total_usage ?? 0, system: cpu.system_cpu_usage ?? 0 };
    const pre = stats.precpu_stats?.system_cpu_usage
      ? { total: stats.precpu_stats.cpu_usage?.total_usage ?? 0, system: stats.precpu_stats.system_cpu_usage }
      : prior;
    const onlineCpus = cpu.online_cpus ?? cpu.cpu_usage?.percpu_usage?.length ?? 1;
    let cpuPercent: number | null = null;
    if (pre && current.system > pre.system) {
      cpuPercent = ((current.total - pre.total) / (current.system - pre.system)) * onlineCpus * 100;
      cpuPercent = Math.max(0, Math.round(cpuPercent * 100) / 100);
    }
    this.remember(container.id, current);

    const memory = stats.memory_stats ?? {};
    // As `docker stats`: usage less the inactive page cache (cgroup v1: total_inactive_file, v2: inactive_file).
    const inactive = memory.stats?.total_inactive_file ?? memory.stats?.inactive_file ?? 0;
    const usage = Math.max(0, (memory.usage ?? 0) - inactive);
    const limit = memory.limit ?? 0;
    let rx = 0;
    let tx = 0;
    for (const net of Object.values(stats.networks ?? {})) {
      rx += net.rx_bytes;
      tx += net.tx_bytes;
    }
    const blkio = stats.blkio_stats?.io_service_bytes_recursive;
    return {
      timestamp: stats.read && !stats.read.startsWith('0001') ? stats.read : new Date().toISOString(),
      cpu_percent: cpuPercent,
      online_cpus: onlineCpus,
      memory: { usage_bytes: usage, limit_bytes: limit, percent: limit ? Math.round((usage / limit) * 10000) / 100 : null },
      network: { rx_bytes: rx, tx_bytes: tx },
      pids: stats.pids_stats?.current ?? 0,
      // cgroup v1 on these hosts often reports no block I/O at all: say so with null.
      block_io: blkio && blkio.length
        ? {
            read_bytes: blkio.filter((e) => e.op.toLowerCase() === 'read').reduce((s, e) => s + e.value, 0),
            write_bytes: blkio.filter((e) => e.op.toLowerCase() === 'write').reduce((s, e) => s + e.value, 0),
          }
        : null,
    };
  }

  forget(engineId: string): void {
    this.previous.delete(engineId);
  }

  private remember(engineId: string, sample: CpuSample): void {
    this.previous.delete(engineId);
    this.previous.set(engineId, sample);
    if (this.previous.size > MAX_REMEMBERED) {
      const oldest = this.previous.keys().next().value;
      if (oldest !== undefined) this.previous.delete(oldest);
    }
  }
}
