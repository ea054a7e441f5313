/**
 * A container's output: while it runs, the live SSE stream (EventSource carries the session
 * cookie; it resumes by itself with Last-Event-ID); otherwise the stored output (GET .../stdout).
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  text: string;
}

export function Output(props: { id: string; live: boolean; onExit: () => void }): VNode {
  const [lines, setLines] = useState<OutputLine[]>([]);
  const [stored, setStored] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [following, setFollowing] = useState(false);
  const onExit = useRef(props.onExit);
  onExit.current = props.onExit;

  useEffect(() => {
    setError(null);
    if (!props.live) {
      api.stdout(props.id).then(setStored, (err: unknown) => setError(err instanceof Error ? err.message : String(err)));
      return undefined;
    }
    setLines([]);
    setStored(null);
    const source = new EventSource(api.streamUrl(props.id));
    setFollowing(true);
    const add = (stream: OutputLine['stream']) => (event: MessageEvent<string>) => setLines((old) => [...old, { stream, text: event.data }]);
    source.addEventListener('stdout', add('stdout'));
    source.addEventListener('stderr', add('stderr'));
    source.addEventListener('exit', () => {
      source.close();
      setFollowing(false);
      onExit.current();
    });
    return () => {
      source.close();
      setFollowing(false);
    };
  }, [props.id, props.live]);

  return html`
    <section aria-labelledby="output-title">
      <h2 id="output-title">Output ${following && html`<span class="live">live</span>`}</h2>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <pre class="output" data-testid="output" tabindex="0">${stored !== null
        ? stored
        : lines.map((line) => html`<span class=${line.stream}>${`${line.text}\n`}</span>`)}</pre>
    </section>
  `;
}
