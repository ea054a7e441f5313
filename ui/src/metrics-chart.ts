/**
 * A container's CPU, memory and network over time: GET .../metrics polled every 2 s while it runs,
 * the last 90 samples (3 minutes) drawn as small SVG line charts that the samples so far fill. No chart library: three
 * polylines need none, and the bundle stays small.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type Metrics } from './api';
import { usePoll } from './poll';

export const METRICS_POLL_MS = 2000;
const KEEP = 90;

interface Sample {
  at: number;
  cpu: number | null;
  memory: number;
  memoryLimit: number;
  /** Bytes per second since the previous sample (null for the first). */
  rx: number | null;
  tx: number | null;
  raw: Metrics;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

function nextSample(previous: Sample | undefined, raw: Metrics): Sample {
  const at = Date.parse(raw.timestamp) || Date.now();
  const seconds = previous ? (at - previous.at) / 1000 : 0;
  const rate = (now: number, before: number | undefined): number | null => (previous && before !== undefined && seconds > 0 ? Math.max(0, (now - before) / seconds) : null);
  return {
    at,
    cpu: raw.cpu_percent,
    memory: raw.memory.usage_bytes,
    memoryLimit: raw.memory.limit_bytes,
    rx: rate(raw.network.rx_bytes, previous?.raw.network.rx_bytes),
    tx: rate(raw.network.tx_bytes, previous?.raw.network.tx_bytes),
    raw,
  };
}

interface Series {
  name: string;
  values: Array<number | null>;
  class: string;
}

const W = 300;
const H = 80;

function LineChart(props: { title: string; testid: string; series: Series[]; format: (n: number) => string; floor?: number }): VNode {
  const all = props.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const max = Math.max(props.floor ?? 0, ...all, 1e-9);
  // The samples so far fill the width (up to KEEP of them: the last 3 minutes).
  const count = props.series[0]?.values.length ?? 0;
  const x = (i: number): number => (count <= 1 ? W : (i / (count - 1)) * W);
  const y = (v: number): number => H - (v / max) * (H - 4) - 2;
  const latest = props.series.map((s) => {
    const last = [...s.values].reverse().find((v) => v !== null);
    return `${s.name} ${last === undefined || last === null ? '—' : props.format(last)}`;
  });
  return html`
    <figure class="chart" data-testid=${props.testid} data-samples=${props.series[0]?.values.length ?? 0}>
      <figcaption><strong>${props.title}</strong> <span data-testid=${`${props.testid}-latest`}>${latest.join(' · ')}</span> <span class="max">max ${props.format(max)}</span></figcaption>
      <svg viewBox=${`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label=${`${props.title}: ${latest.join(', ')}`}>
        ${props.series.map((s) => {
          const points = s.values.map((v, i) => (v === null ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`)).filter((p): p is string => p !== null);
          return html`<polyline class=${s.class} points=${points.join(' ')} />`;
        })}
      </svg>
    </figure>
  `;
}

export function MetricsChart(props: { id: string; live: boolean }): VNode {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);
  const load = async (): Promise<void> => {
    if (!props.live) return;
    try {
      const raw = await api.metrics(props.id);
      setSamples((old) => [...old, nextSample(old[old.length - 1], raw)].slice(-KEEP));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  usePoll(load, METRICS_POLL_MS, [props.id, props.live]);
  const last = samples[samples.length - 1];
  const span = last && samples[0] ? Math.round((last.at - samples[0].at) / 1000) : 0;
  const percent = (n: number): string => `${n.toFixed(1)} %`;
  const rate = (n: number): string => `${formatBytes(n)}/s`;
  return html`
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics ${props.live ? html`<span class="live">every ${METRICS_POLL_MS / 1000} s${span ? `, the last ${span} s` : ''}</span>` : html`<span class="muted">(not running)</span>`}</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${samples.length === 0
        ? html`<p class="empty">${props.live ? 'Waiting for the first sample…' : 'No samples: metrics are read while the container runs.'}</p>`
        : html`<div class="charts">
            <${LineChart} title="CPU" testid="metric-cpu" series=${[{ name: 'cpu', values: samples.map((s) => s.cpu), class: 'cpu' }]} format=${percent} floor=${1} />
            <${LineChart} title="Memory" testid="metric-memory" series=${[{ name: 'used', values: samples.map((s) => s.memory), class: 'memory' }]} format=${formatBytes} />
            <${LineChart} title="Network" testid="metric-network" series=${[
              { name: 'in', values: samples.map((s) => s.rx), class: 'rx' },
              { name: 'out', values: samples.map((s) => s.tx), class: 'tx' },
            ]} format=${rate} floor=${1024} />
          </div>
          ${last && html`<p class="muted">Processes ${last.raw.pids} · memory limit ${last.memoryLimit ? formatBytes(last.memoryLimit) : 'none'} · ${last.raw.online_cpus} CPUs</p>`}`}
    </section>
  `;
}
