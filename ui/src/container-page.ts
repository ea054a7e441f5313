/**
 * One container: its record and state (both views), output, metrics over time, a terminal, an exec
 * box, changed files, snapshot and fork, delete.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useCallback, useState } from 'preact/hooks';
import { api, ApiError, type ChangedFile, type Container, type ContainerState, type ExecResult, type User } from './api';
import { SnapshotAndFork } from './container-actions';
import { DeleteButton } from './delete-button';
import { MetricsChart } from './metrics-chart';
import { Output } from './output';
import { usePoll } from './poll';
import { navigate } from './router';
import { TerminalPanel } from './terminal';

const LIVE = new Set(['creating', 'starting', 'running', 'restarting']);

export function ContainerPage(props: { id: string; user: User }): VNode {
  const { id } = props;
  const [record, setRecord] = useState<Container | null>(null);
  const [state, setState] = useState<ContainerState | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filesVersion, setFilesVersion] = useState(0);

  const load = useCallback(async (): Promise<void> => {
    try {
      setRecord(await api.container(id));
      setState(await api.state(id));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setMissing(err.message);
      else setError(err instanceof Error ? err.message : String(err));
    }
  }, [id]);
  usePoll(load, 2000, [id]);

  if (missing) return html`<section><h1>Container ${id}</h1><p role="alert" class="error" data-testid="not-found">${missing}</p></section>`;
  if (!record) return html`<section><p>Loading…</p>${error && html`<p role="alert" class="error">${error}</p>`}</section>`;
  const live = LIVE.has(record.status);

  return html`
    <section>
      <div class="toolbar">
        <h1>Container <code>${record.id.slice(0, 12)}</code></h1>
        <${DeleteButton} id=${record.id} onDeleted=${() => navigate('/')} onError=${setError} />
      </div>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <dl class="facts">
        <dt>State</dt><dd data-testid="status">${record.status}${record.exit_code !== null ? ` (exit ${record.exit_code})` : ''}${record.reason ? ` — ${record.reason}` : ''}</dd>
        <dt>Scheduler (unit)</dt><dd data-testid="fleet-state">${state ? `${state.fleet_state.activeState} (${state.fleet_state.subState})` : '…'}</dd>
        <dt>Engine</dt><dd data-testid="docker-state">${state ? (state.docker_state.Status ?? '—') : '…'}</dd>
        <dt>Image</dt><dd>${record.image}</dd>
        <dt>Node</dt><dd>${record.node ?? '—'}</dd>
        <dt>Created</dt><dd><time datetime=${record.created}>${new Date(record.created).toLocaleString()}</time></dd>
        <dt>Owner</dt><dd>${record.owner}</dd>
        <dt>Arguments</dt><dd><code>${record.container_args.join(' ') || '—'}</code></dd>
        <dt>Permanent</dt><dd>${record.permanent ? 'yes' : 'no'}</dd>
        <dt>Network</dt><dd data-testid="network">${record.network ?? '—'}${record.hostname ? html`, hostname <code>${record.hostname}</code>` : ''}</dd>
        <dt>Ports</dt><dd data-testid="ports">${portsOf(state?.ports ?? record.ports)}</dd>
      </dl>
      <${Output} id=${id} live=${live} onExit=${() => void load()} />
      <${MetricsChart} id=${id} live=${record.status === 'running'} />
      ${record.status === 'running' && html`<${TerminalPanel} id=${id} />`}
      ${record.status === 'running' && html`<${ExecBox} id=${id} onRan=${() => setFilesVersion((v) => v + 1)} />`}
      <${Files} id=${id} version=${`${filesVersion}:${record.status}`} />
      <${SnapshotAndFork} id=${id} />
    </section>
  `;
}

function ExecBox(props: { id: string; onRan: () => void }): VNode {
  const [command, setCommand] = useState('');
  const [result, setResult] = useState<ExecResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      setResult(await api.exec(props.id, command));
      props.onRan();
    } catch (err) {
      setResult(null);
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section aria-labelledby="exec-title">
      <h2 id="exec-title">Run a command</h2>
      <form class="exec" onSubmit=${run}>
        <label>Command (run by /bin/sh -c) <input name="command" required value=${command} onInput=${(e: Event) => setCommand((e.target as HTMLInputElement).value)} /></label>
        <button type="submit" disabled=${busy}>Run</button>
      </form>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${result && html`<div data-testid="exec-result">
        <p>Exit code <strong data-testid="exec-exit">${result.exit_code ?? '—'}</strong> in ${result.duration_ms} ms${result.timed_out ? ' (timed out)' : ''}</p>
        <pre class="output" data-testid="exec-stdout">${result.stdout}</pre>
        ${result.stderr && html`<pre class="output stderr">${result.stderr}</pre>`}
      </div>`}
    </section>
  `;
}

function Files(props: { id: string; version: string }): VNode {
  const [files, setFiles] = useState<ChangedFile[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = async (): Promise<void> => {
    try {
      setFiles(await api.files(props.id));
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  usePoll(load, 5000, [props.id, props.version]);
  return html`
    <section aria-labelledby="files-title">
      <h2 id="files-title">Changed files</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${files && (files.length === 0
        ? html`<p class="empty">No changed files.</p>`
        : html`<ul class="files">${files.map((f) => html`<li key=${f.num}><a href=${api.fileUrl(props.id, f.num)} download=${f.path.split('/').pop()}>${f.path}</a> <span class="size">${f.size} bytes</span></li>`)}</ul>`)}
      <p><a href=${api.archiveUrl(props.id)} download>Download all changes (tar)</a></p>
    </section>
  `;
}

/** Each exposed port, with a link where it is published (a page the browser can open). */
function portsOf(ports: Container['ports']): VNode | string {
  if (!ports || ports.length === 0) return '—';
  return html`${ports.map((p, i) => {
    const where = p.host_ip !== null && p.host_port !== null ? `${p.host_ip}:${p.host_port}` : null;
    const label = `${p.port}/${p.protocol}`;
    return html`${i > 0 ? ', ' : ''}${label} → ${where === null ? 'not published' : p.protocol === 'tcp' ? html`<a href=${`http://${where}/`} target="_blank" rel="noopener">${where}</a>` : where}`;
  })}`;
}
