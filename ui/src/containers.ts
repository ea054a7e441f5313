/** The containers list: live state (polled every 2 s), a state filter, the create form, delete. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type ContainerSummary, type User } from './api';
import { CreateForm } from './create-form';
import { DeleteButton } from './delete-button';
import { usePoll } from './poll';
import { Link } from './router';

export const POLL_MS = 2000;
const STATES = ['creating', 'starting', 'running', 'restarting', 'paused', 'exited', 'stopped', 'error', 'lost'];

export function ContainerList(props: { user: User }): VNode {
  const [containers, setContainers] = useState<ContainerSummary[] | null>(null);
  const [filter, setFilter] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const load = async (): Promise<void> => {
    try {
      setContainers(await api.containers());
      setError(null);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  usePoll(load, POLL_MS, []);
  const admin = props.user.is_admin;
  const shown = (containers ?? []).filter((c) => !filter || c.status === filter);

  return html`
    <section>
      <div class="toolbar">
        <h1>Containers</h1>
        <label>State
          <select name="state" value=${filter} onChange=${(e: Event) => setFilter((e.target as HTMLSelectElement).value)}>
            <option value="">all</option>
            ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
          </select>
        </label>
        <button type="button" aria-expanded=${creating} onClick=${() => setCreating(!creating)}>${creating ? 'Close the form' : 'New container'}</button>
      </div>
      ${creating && html`<${CreateForm} onCreated=${() => { setCreating(false); void load(); }} />`}
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${containers === null
        ? html`<p>Loading…</p>`
        : shown.length === 0
          ? html`<p class="empty">No containers${filter ? ` in state ${filter}` : ''}.</p>`
          : html`<div class="scroll"><table class="containers">
              <thead><tr><th>Id</th><th>State</th><th>Image</th><th>Node</th><th>Created</th>${admin && html`<th>Owner</th>`}<th><span class="sr-only">Actions</span></th></tr></thead>
              <tbody>
                ${shown.map((c) => html`<tr key=${c.id} data-id=${c.id}>
                  <td><${Link} href=${`/containers/${c.id}`}><code>${c.id.slice(0, 12)}</code><//></td>
                  <td><span class=${`state state-${c.status}`} data-testid="state">${c.status}${c.exit_code !== null && c.status === 'exited' ? ` (${c.exit_code})` : ''}</span></td>
                  <td>${c.image}</td>
                  <td>${c.node ?? '—'}</td>
                  <td><time datetime=${c.created}>${new Date(c.created).toLocaleString()}</time></td>
                  ${admin && html`<td>${c.owner}</td>`}
                  <td><${DeleteButton} id=${c.id} onDeleted=${() => void load()} onError=${setError} /></td>
                </tr>`)}
              </tbody>
            </table></div>`}
    </section>
  `;
}
