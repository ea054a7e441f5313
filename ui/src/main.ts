/** The dashboard: who is logged in decides between the login form and the pages. */
import { html } from 'htm/preact';
import { render, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type User } from './api';
import { AccountPage } from './account';
import { UsersPage } from './admin';
import { ContainerPage } from './container-page';
import { ContainerList } from './containers';
import { LoginForm } from './login';
import { UnitsPage } from './units';
import { Link, navigate, usePath } from './router';
import './style.css';

function App(): VNode {
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const path = usePath();

  useEffect(() => {
    api.me().then(setUser, (err: unknown) => {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setUser(null);
      else setError(err instanceof Error ? err.message : String(err));
    });
  }, []);

  if (error) return html`<main><p role="alert" class="error">${error}</p></main>`;
  if (user === undefined) return html`<main><p>Loading…</p></main>`;
  if (user === null) return html`<${LoginForm} notice=${notice} onLogin=${(u: User) => { setNotice(null); setUser(u); }} />`;

  const logout = async (): Promise<void> => {
    try {
      await api.logout();
    } finally {
      setUser(null);
      navigate('/');
    }
  };
  const passwordChanged = (): void => {
    setNotice('Your password was changed and your sessions ended: log in with the new one.');
    setUser(null);
    navigate('/');
  };
  const match = /^\/containers\/([^/]+)$/.exec(path);
  const page = match
    ? html`<${ContainerPage} key=${match[1]} id=${decodeURIComponent(match[1])} user=${user} />`
    : path === '/account'
      ? html`<${AccountPage} onPasswordChanged=${passwordChanged} />`
      : path === '/users'
        ? html`<${UsersPage} user=${user} />`
        : path === '/units'
          ? html`<${UnitsPage} />`
          : html`<${ContainerList} user=${user} />`;
  return html`
    <header>
      <${Link} href="/" class="brand">BoatLoad<//>
      <nav aria-label="Pages">
        <${Link} href="/">Containers<//>
        ${user.is_admin && html`<${Link} href="/units">Units<//> <${Link} href="/users">Users<//>`}
      </nav>
      <${Link} href="/account" class="who">${user.username}${user.is_admin ? ' (admin)' : ''}<//>
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    <main>${page}</main>
  `;
}

render(html`<${App} />`, document.getElementById('app') as HTMLElement);
