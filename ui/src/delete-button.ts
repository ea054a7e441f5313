/** Delete with an in-page confirmation: the first click asks, "Yes, delete" deletes (a container by default). */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api';

export function DeleteButton(props: { id: string; onDeleted: () => void; onError: (message: string) => void; remove?: (id: string) => Promise<void> }): VNode {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const remove = async (): Promise<void> => {
    setBusy(true);
    try {
      await (props.remove ?? api.remove)(props.id);
      props.onDeleted();
    } catch (err) {
      props.onError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
      setAsking(false);
    }
  };
  if (!asking) return html`<button type="button" class="danger" aria-label=${`Delete ${props.id}`} onClick=${() => setAsking(true)}>Delete</button>`;
  return html`<span class="confirm" role="group" aria-label="Confirm delete">
    Delete ${props.id.slice(0, 12)}?
    <button type="button" class="danger" disabled=${busy} onClick=${() => void remove()}>Yes, delete</button>
    <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}
