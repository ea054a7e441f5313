/**
 * Admins: the fleet units (GET /fleet/v1/units, polled) with their desired and current states,
 * start (launched), stop (loaded) and destroy; a form that submits a unit file; the machines. The
 * unit file is parsed in the browser by the API's own parser (units/unit-file-parse.ts), since
 * fleet's API takes its options, not its text. A non-admin sees the API's refusal and nothing else.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { parseUnitFile } from '../../units/unit-file-parse';
import { api, type Machine, type Unit, type UnitDesiredState } from './api';
import { DeleteButton } from './delete-button';
import { usePoll } from './poll';
import { fieldText } from './form-fields';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function UnitForm(props: { onSubmitted: () => void }): VNode {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const text = (key: string): string => fieldText(fields, key);
    const file = fields.get('unit_file');
    let name = text('name').trim();
    setError(null);
    setBusy(true);
    try {
      const fromFile = file instanceof File && file.size > 0;
      const unitText = fromFile ? await file.text() : text('unit_text');
      if (!name && fromFile) name = file.name;
      if (!name) throw new Error('Name the unit (e.g. web.service).');
      if (!unitText.trim()) throw new Error('Write the unit file or choose one.');
      const options = parseUnitFile(unitText);
      await api.putUnit(name, { desiredState: text('desired') as UnitDesiredState, options });
      form.reset();
      props.onSubmitted();
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return html`
    <form class="create" onSubmit=${submit} aria-label="Submit a unit">
      <label>Unit name <input name="name" placeholder="web.service" autocomplete="off" /></label>
      <label>Unit file <textarea name="unit_text" rows="7" spellcheck="false" placeholder=${'[Service]\nExecStart=/usr/bin/docker run --rm --name web boatload/base:latest sleep 3600'}></textarea></label>
      <label>or a unit file from disk <input name="unit_file" type="file" accept=".service,.timer,.socket,.target,text/plain" /></label>
      <label>Then
        <select name="desired">
          <option value="launched">start it (launched)</option>
          <option value="loaded">load it (loaded)</option>
          <option value="inactive">only submit it (inactive)</option>
        </select>
      </label>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <button type="submit" disabled=${busy}>Submit the unit</button>
    </form>
  `;
}

function UnitRow(props: { unit: Unit; onChanged: () => void; onError: (message: string) => void }): VNode {
  const { unit } = props;
  const [busy, setBusy] = useState(false);
  const set = async (desiredState: UnitDesiredState): Promise<void> => {
    setBusy(true);
    try {
      await api.putUnit(unit.name, { desiredState });
      props.onChanged();
    } catch (err) {
      props.onError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<tr data-unit=${unit.name}>
    <td><code>${unit.name}</code></td>
    <td data-testid="desired">${unit.desiredState}</td>
    <td data-testid="current">${unit.currentState}</td>
    <td>${unit.machineID ?? '—'}</td>
    <td><span class="actions">
      <button type="button" disabled=${busy || unit.desiredState === 'launched'} aria-label=${`Start ${unit.name}`} onClick=${() => void set('launched')}>Start</button>
      <button type="button" disabled=${busy || unit.desiredState !== 'launched'} aria-label=${`Stop ${unit.name}`} onClick=${() => void set('loaded')}>Stop</button>
      <${DeleteButton} id=${unit.name} label="Destroy" remove=${api.destroyUnit} onDeleted=${props.onChanged} onError=${props.onError} />
    </span></td>
  </tr>`;
}

export function UnitsPage(): VNode {
  const [units, setUnits] = useState<Unit[] | null>(null);
  const [machines, setMachines] = useState<Machine[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const load = async (): Promise<void> => {
    try {
      const [u, m] = await Promise.all([api.units(), api.machines()]);
      setUnits(u);
      setMachines(m);
      setError(null);
    } catch (err) {
      setError(message(err));
    }
  };
  usePoll(load, 2000, []);
  // Until the API has answered a list, nothing but its refusal is shown.
  if (units === null || machines === null) {
    return html`<section><h1>Units</h1>${error ? html`<p role="alert" class="error" data-testid="refused">${error}</p>` : html`<p>Loading…</p>`}</section>`;
  }
  return html`
    <section>
      <div class="toolbar">
        <h1>Units</h1>
        <button type="button" aria-expanded=${creating} onClick=${() => setCreating(!creating)}>${creating ? 'Close the form' : 'Submit a unit'}</button>
      </div>
      ${creating && html`<${UnitForm} onSubmitted=${() => { setCreating(false); void load(); }} />`}
      ${error && html`<p role="alert" class="error">${error}</p>`}
      ${units.length === 0
        ? html`<p class="empty">No units.</p>`
        : html`<div class="scroll"><table class="units">
          <thead><tr><th>Name</th><th>Desired</th><th>Current</th><th>Machine</th><th><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${units.map((u) => html`<${UnitRow} key=${u.name} unit=${u} onChanged=${() => void load()} onError=${setError} />`)}</tbody>
        </table></div>`}
      <h2>Machines</h2>
      ${machines.length === 0
        ? html`<p class="empty">No machines.</p>`
        : html`<div class="scroll"><table class="machines">
          <thead><tr><th>Machine</th><th>Address</th><th>Metadata</th></tr></thead>
          <tbody>${machines.map((m) => html`<tr key=${m.id} data-machine=${m.id}>
            <td><code>${m.id}</code></td><td>${m.primaryIP || '—'}</td>
            <td>${Object.entries(m.metadata ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '—'}</td>
          </tr>`)}</tbody>
        </table></div>`}
    </section>
  `;
}
