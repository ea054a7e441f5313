/** A terminal on a running container: xterm.js (loaded on first open) over the terminal WebSocket. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';
import type { TerminalEvent } from './xterm-session';

export function TerminalPanel(props: { id: string }): VNode {
  const [open, setOpen] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open || !box.current) return undefined;
    const element = box.current;
    let close: (() => void) | null = null;
    let cancelled = false;
    setStatus('connecting…');
    setError(null);
    const onEvent = (event: TerminalEvent): void => {
      if (event.kind === 'open') setStatus('connected');
      else if (event.kind === 'exit') setStatus(`ended (exit ${event.exitCode ?? '—'})`);
      else if (event.kind === 'error') setError(event.detail);
      else setStatus(event.reason ? `closed: ${event.reason}` : 'closed');
    };
    import('./xterm-session').then(
      (module) => {
        if (!cancelled) close = module.openTerminal({ element, url: (size) => api.terminalUrl(props.id, size), onEvent });
      },
      (err: unknown) => setError(`The terminal could not load: ${err instanceof Error ? err.message : String(err)}`),
    );
    return () => {
      cancelled = true;
      close?.();
    };
  }, [open, props.id]);

  return html`
    <section aria-labelledby="terminal-title">
      <div class="toolbar">
        <h2 id="terminal-title">Terminal ${status && html`<span class="live" data-testid="terminal-status">${status}</span>`}</h2>
        <button type="button" aria-expanded=${open} onClick=${() => { setOpen(!open); setStatus(''); }}>${open ? 'Close the terminal' : 'Open a terminal'}</button>
      </div>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${open && html`<div class="terminal" ref=${box} data-testid="terminal" role="region" aria-label="Terminal (a shell in the container)"></div>`}
    </section>
  `;
}
