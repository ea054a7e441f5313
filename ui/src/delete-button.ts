/**
 * Delete with an in-page confirmation: the first click asks, "Yes, <label>" deletes (a container by
 * default; the label defaults to "Delete").
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api';

export function DeleteButton(props: { id: string; onDeleted: () => void; onError: (message: string) => void; remove?: (id: string) => Promise<void>; label?: string }): VNode {
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
  const label = props.label ?? 'Delete';
  if (!asking) return html`<button type="button" class="danger" aria-label=${`${label} ${props.id}`} onClick=${() => setAsking(true)}>${label}</button>`;
  return html`<span class="confirm" role="group" aria-label=${`Confirm ${label.toLowerCase()}`}>
    ${label} ${/^[0-9a-f]{32}$/.test(props.id) ? props.id.slice(0, 12) : props.id}?
    <button type="button" class="danger" disabled=${busy} onClick=${() => void remove()}>Yes, ${label.toLowerCase()}</button>
    <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}
