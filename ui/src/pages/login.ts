/** The login form (#/login): the credentials are checked against the API itself (GET /api/whoami). */
import { ApiError } from '../api.js';
import { fill, h } from '../dom.js';
import type { PageRender } from '../page.js';

export const loginPage = (note: string, done: () => void): PageRender => async (ctx, root) => {
  const user = h('input', { id: 'login-user', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'login-error', class: 'error', role: 'alert' }, note);
  const submit = h('button', { id: 'login-submit', type: 'submit' }, 'log in');
  const form = h('form', { id: 'login-form', class: 'login' }, h('h2', {}, 'Log in'),
    h('label', {}, 'user ', user), h('label', {}, 'password ', password), submit, error);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    ctx.api.login(user.value, password.value).then(done, (err: unknown) => {
      submit.disabled = false;
      error.textContent = err instanceof ApiError && err.status === 401 ? 'wrong user name or password'
        : err instanceof ApiError && err.status === 429 ? `too many attempts: ${err.message}` : `cannot log in: ${err instanceof Error ? err.message : String(err)}`;
      password.value = '';
      password.focus();
    });
  });
  fill(root, form);
  ctx.ready();
};
