/**
 * Admins: the users (list, create, delete). A non-admin sees the API's refusal and nothing else.
 */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type User } from './api';
import { DeleteButton } from './delete-button';
import { usePoll } from './poll';

export function UsersPage(props: { user: User }): VNode {
  const [users, setUsers] = useState<User[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);
  const load = async (): Promise<void> => {
    try {
      setUsers(await api.users());
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  usePoll(load, 10_000, []);
  const create = async (event: Event): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const value = (name: string): string => {
      const v = fields.get(name);
      return typeof v === 'string' ? v : '';
    };
    setFormError(null);
    try {
      await api.createUser({ username: value('username'), password: value('password'), is_admin: fields.get('is_admin') !== null });
      form.reset();
      await load();
    } catch (err) {
      setFormError(err instanceof Error ? err.message : String(err));
    }
  };
  // Until the API has answered the list, nothing but its refusal is shown.
  if (users === null) {
    return html`<section><h1>Users</h1>${error ? html`<p role="alert" class="error" data-testid="refused">${error}</p>` : html`<p>Loading…</p>`}</section>`;
  }
  return html`
    <section>
      <h1>Users</h1>
      ${error && html`<p role="alert" class="error">${error}</p>`}
      <form class="create" onSubmit=${create} aria-label="New user">
        <div class="row">
          <label>Username <input name="username" required autocomplete="off" /></label>
          <label>Password <input name="password" type="password" required autocomplete="new-password" /></label>
          <label class="check"><input name="is_admin" type="checkbox" /> Admin</label>
        </div>
        ${formError && html`<p role="alert" class="error">${formError}</p>`}
        <button type="submit">Create user</button>
      </form>
      ${html`<div class="scroll"><table class="users">
        <thead><tr><th>Username</th><th>Admin</th><th>Created</th><th><span class="sr-only">Actions</span></th></tr></thead>
        <tbody>${users.map((u) => html`<tr key=${u.username} data-user=${u.username}>
          <td>${u.username}</td><td>${u.is_admin ? 'yes' : 'no'}</td>
          <td>${u.created ? html`<time datetime=${u.created}>${new Date(u.created).toLocaleString()}</time>` : '—'}</td>
          <td>${u.username !== props.user.username && html`<${DeleteButton} id=${u.username} remove=${api.deleteUser} onDeleted=${() => void load()} onError=${setError} />`}</td>
        </tr>`)}</tbody>
      </table></div>`}
    </section>
  `;
}
