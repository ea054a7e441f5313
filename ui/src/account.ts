/** Change your password (POST /v1/auth/password): it ends your sessions, so you log in again. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api';

export function AccountPage(props: { onPasswordChanged: () => void }): VNode {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    const fields = new FormData(event.currentTarget as HTMLFormElement);
    const value = (name: string): string => {
      const v = fields.get(name);
      return typeof v === 'string' ? v : '';
    };
    setError(null);
    if (value('new_password') !== value('repeat')) {
      setError('The new passwords differ.');
      return;
    }
    setBusy(true);
    try {
      await api.changePassword(value('old_password'), value('new_password'));
      props.onPasswordChanged();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return html`
    <section>
      <h1>Change your password</h1>
      <form class="narrow" onSubmit=${submit} aria-label="Change password">
        <label>Current password <input name="old_password" type="password" autocomplete="current-password" required /></label>
        <label>New password <input name="new_password" type="password" autocomplete="new-password" required minlength="8" /></label>
        <label>New password again <input name="repeat" type="password" autocomplete="new-password" required minlength="8" /></label>
        ${error && html`<p role="alert" class="error">${error}</p>`}
        <button type="submit" disabled=${busy}>Change password</button>
      </form>
    </section>
  `;
}
