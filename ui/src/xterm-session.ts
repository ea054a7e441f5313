/**
 * xterm.js on the container's terminal WebSocket (GET /v1/container/<id>/terminal). Loaded only when
 * a terminal is opened: xterm.js is most of the dashboard's bytes, and most visits never need it.
 * The socket speaks JSON text: we send {"type":"stdin"} and {"type":"resize"}; it sends
 * {"type":"output"}, then {"type":"exit"} (or {"type":"error"}).
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';

export type TerminalEvent = { kind: 'open' } | { kind: 'exit'; exitCode: number | null } | { kind: 'error'; detail: string } | { kind: 'closed'; reason: string };

export interface TerminalSessionInput {
  element: HTMLElement;
  url: (size: { cols: number; rows: number }) => string;
  onEvent: (event: TerminalEvent) => void;
}

/** Opens the terminal in `element`; answers the function that ends it. */
export function openTerminal(input: TerminalSessionInput): () => void {
  const term = new Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000, fontFamily: 'ui-monospace, monospace' });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(input.element);
  fit.fit();
  let ended = false;
  const socket = new WebSocket(input.url({ cols: term.cols, rows: term.rows }));
  socket.binaryType = 'arraybuffer';
  const send = (message: object): void => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  socket.onopen = () => {
    input.onEvent({ kind: 'open' });
    term.focus();
  };
  socket.onmessage = (event: MessageEvent<string | ArrayBuffer>) => {
    if (typeof event.data !== 'string') {
      term.write(new Uint8Array(event.data));
      return;
    }
    let message: { type?: string; data?: unknown; exit_code?: unknown; detail?: unknown };
    try {
      message = JSON.parse(event.data) as typeof message;
    } catch {
      return;
    }
    if (message.type === 'output' && typeof message.data === 'string') term.write(message.data);
    else if (message.type === 'exit') {
      ended = true;
      input.onEvent({ kind: 'exit', exitCode: typeof message.exit_code === 'number' ? message.exit_code : null });
    } else if (message.type === 'error' && typeof message.detail === 'string') input.onEvent({ kind: 'error', detail: message.detail });
  };
  // A refused handshake (a stopped container, a lost session) reaches a browser with no status or
  // body: only that the connection closed.
  socket.onclose = (event) => {
    if (!ended) input.onEvent({ kind: 'closed', reason: event.reason });
  };
  const typed = term.onData((data) => send({ type: 'stdin', data }));
  const resized = term.onResize(({ cols, rows }) => send({ type: 'resize', cols, rows }));
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(input.element);
  return () => {
    ended = true;
    observer.disconnect();
    typed.dispose();
    resized.dispose();
    socket.close(1000, 'closed in the dashboard');
    term.dispose();
  };
}
