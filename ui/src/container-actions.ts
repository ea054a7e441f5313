/**
 * Snapshot and fork, each an operation (202 + /v1/operations/<id>): the button starts it, the page
 * follows it to its end and shows the snapshot, the copies (links to them), or the API's error.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type Operation, type Snapshot } from './api';
import { formatBytes } from './metrics-chart';
import { Link } from './router';

const FOLLOW_MS = 1000;

/** Polls the operation until it has succeeded or failed. */
async function finished(operation: Operation): Promise<Operation> {
  let current = operation;
  while (current.status !== 'succeeded' && current.status !== 'failed') {
    await new Promise((resolve) => setTimeout(resolve, FOLLOW_MS));
    current = await api.operation(current.id);
  }
  return current;
}

type Outcome = { snapshot: Snapshot; containers?: string[] };

function useOperation(): { busy: boolean; error: string | null; outcome: Outcome | null; run: (start: () => Promise<Operation>) => Promise<void> } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const run = async (start: () => Promise<Operation>): Promise<void> => {
    setBusy(true);
    setError(null);
    setOutcome(null);
    try {
      const done = await finished(await start());
      if (done.status === 'failed') setError(done.error ?? 'The operation failed.');
      else setOutcome(done.result as Outcome);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, outcome, run };
}

function value(event: Event, name: string): string {
  const field = new FormData(event.currentTarget as HTMLFormElement).get(name);
  return typeof field === 'string' ? field : '';
}

export function SnapshotAndFork(props: { id: string }): VNode {
  const snapshot = useOperation();
  const fork = useOperation();
  const takeSnapshot = (event: Event): void => {
    event.preventDefault();
    const name = value(event, 'snapshot_name').trim();
    void snapshot.run(() => api.snapshot(props.id, name));
  };
  const startFork = (event: Event): void => {
    event.preventDefault();
    const count = Number(value(event, 'count') || '1');
    void fork.run(() => api.fork(props.id, count));
  };
  const taken = snapshot.outcome?.snapshot;
  return html`
    <section aria-labelledby="branch-title">
      <h2 id="branch-title">Snapshot and fork</h2>
      <div class="row">
        <form class="exec" onSubmit=${takeSnapshot} aria-label="Snapshot">
          <label>Snapshot name (optional) <input name="snapshot_name" maxlength="200" /></label>
          <button type="submit" disabled=${snapshot.busy}>${snapshot.busy ? 'Taking a snapshot…' : 'Take a snapshot'}</button>
        </form>
        <form class="exec" onSubmit=${startFork} aria-label="Fork">
          <label>Copies <input name="count" type="number" min="1" value="1" required /></label>
          <button type="submit" disabled=${fork.busy}>${fork.busy ? 'Forking…' : 'Fork'}</button>
        </form>
      </div>
      ${snapshot.error && html`<p role="alert" class="error">${snapshot.error}</p>`}
      ${taken && html`<p role="status" data-testid="snapshot-result">Snapshot <code>${taken.id}</code>${taken.name ? ` "${taken.name}"` : ''}: image <code>${taken.image}</code>, ${formatBytes(taken.size)}. Start a container from it with <code>snapshot=${taken.id}</code>.</p>`}
      ${fork.error && html`<p role="alert" class="error">${fork.error}</p>`}
      ${fork.outcome && html`<div role="status" data-testid="fork-result">
        <p>Forked from snapshot <code>${fork.outcome.snapshot.id}</code>:</p>
        <ul>${(fork.outcome.containers ?? []).map((copy) => html`<li key=${copy}><${Link} href=${`/containers/${copy}`}><code>${copy}</code><//></li>`)}</ul>
      </div>`}
    </section>
  `;
}
