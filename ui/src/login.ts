/** The login form: a session (POST /v1/auth/login); a refusal shows the API's message. */
import { html } from 'htm/preact';
import type { VNode } from 'preact';
import { useState } from 'preact/hooks';
import { api, type User } from './api';

export function LoginForm(props: { onLogin: (user: User) => void; notice?: string | null }): VNode {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onLogin(await api.login(username, password));
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main class="login">
      <h1>BoatLoad</h1>
      ${props.notice && html`<p role="status" class="notice">${props.notice}</p>`}
      <form onSubmit=${submit} aria-label="Log in">
        <label>Username <input name="username" autocomplete="username" required value=${username} onInput=${(e: Event) => setUsername((e.target as HTMLInputElement).value)} /></label>
        <label>Password <input name="password" type="password" autocomplete="current-password" required value=${password} onInput=${(e: Event) => setPassword((e.target as HTMLInputElement).value)} /></label>
        ${error && html`<p role="alert" class="error">${error}</p>`}
        <button type="submit" disabled=${busy}>Log in</button>
      </form>
    </main>
  `;
}
