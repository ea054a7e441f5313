/** Create a container: image and tag, a script (typed or a file), args, env lines, limits, ports, hostname, network, permanent. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api';
import { fieldText } from './form-fields';

/** "8080, 53/udp" (commas or spaces) into the API's shorthand list; the API names a bad one. */
export function parsePorts(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** NAME=value lines into an object; a line without '=' is an error naming it. */
export function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`env: "${line}" is not NAME=value.`);
    env[line.slice(0, at)] = line.slice(at + 1);
  }
  return env;
}

export function CreateForm(props: { onCreated: (id: string) => void }): VNode {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const body = new FormData();
    setError(null);
    try {
      for (const name of ['image_name', 'image_tag', 'container_args']) {
        const value = fieldText(fields, name).trim();
        if (value) body.set(name, value);
      }
      const env = parseEnv(fieldText(fields, 'env'));
      if (Object.keys(env).length) body.set('env', JSON.stringify(env));
      body.set('permanent', fields.get('permanent') ? 'true' : 'false');
      const ports = parsePorts(fieldText(fields, 'ports'));
      if (ports.length) body.set('ports', JSON.stringify(ports));
      // Limits: empty is the installation's default; the API names a value over its maximum.
      const memoryMiB = fieldText(fields, 'memory_mib').trim();
      if (memoryMiB) body.set('memory', String(Math.round(Number(memoryMiB) * 1024 * 1024)));
      for (const name of ['cpus', 'pids']) {
        const value = fieldText(fields, name).trim();
        if (value) body.set(name, value);
      }
      for (const name of ['hostname', 'network']) {
        const value = fieldText(fields, name).trim();
        if (value) body.set(name, value);
      }
      const file = fields.get('script_file');
      const typed = fieldText(fields, 'script_text');
      if (file instanceof File && file.size > 0) body.set('script', file, file.name);
      else if (typed.trim()) body.set('script', new Blob([typed.replace(/\r\n/g, '\n')], { type: 'application/octet-stream' }), 'script');
      setBusy(true);
      const created = await api.create(body);
      form.reset();
      props.onCreated(created.id);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return html`
    <form class="create" onSubmit=${submit} aria-label="New container">
      <div class="row">
        <label>Image <input name="image_name" placeholder="boatload/base" /></label>
        <label>Tag <input name="image_tag" placeholder="latest" /></label>
      </div>
      <label>Script <textarea name="script_text" rows="6" spellcheck="false" placeholder=${'#!/bin/sh\necho hello'}></textarea></label>
      <label>or a script file <input name="script_file" type="file" /></label>
      <label>Arguments <input name="container_args" placeholder="sleep 3600" /></label>
      <label>Environment (NAME=value, one a line) <textarea name="env" rows="2" spellcheck="false"></textarea></label>
      <div class="row">
        <label>Ports <input name="ports" placeholder="8080, 53/udp" /></label>
        <label>Hostname <input name="hostname" placeholder="web" /></label>
        <label
          >Network
          <select name="network">
            <option value="">the installation's default</option>
            <option value="internet">internet</option>
            <option value="private">private (your containers only)</option>
            <option value="none">none</option>
          </select>
        </label>
      </div>
      <div class="row">
        <label>Memory (MiB) <input name="memory_mib" type="number" min="6" step="any" placeholder="default" /></label>
        <label>CPUs <input name="cpus" type="number" min="0.01" step="0.01" placeholder="default" /></label>
        <label>Processes <input name="pids" type="number" min="8" step="1" placeholder="default" /></label>
      </div>
      <label class="check"><input name="permanent" type="checkbox" /> Permanent (restarted always)</label>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <button type="submit" disabled=${busy}>Create</button>
    </form>
  `;
}
