// Sign in: username and password to POST /api/v1/session, which sets the session cookie and gives
// the CSRF token. Wrong details get one message whatever was wrong (as ehcd answers).
import { api, ApiError, setCsrf } from '../api.js';
import { h, successBanner } from '../dom.js';
import { textQuestion, readQuestions, showErrors, clearErrors } from '../forms.js';
import { navigate, session } from '../main.js';

export async function signInPage({ query, flash }) {
  const questions = {
    username: textQuestion('username', 'Username', { autocomplete: 'username', width: 20, spellcheck: false }),
    password: textQuestion('password', 'Password', { autocomplete: 'current-password', type: 'password', width: 20 }),
  };
  const next = query.get('next');
  const safeNext = next && /^\/app\/[A-Za-z0-9/_?=&%-]*$/.test(next) && !next.startsWith('/app/sign-in') ? next : '/app/';
  const form = h('form', { novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (!values.username) errors.unshift({ text: 'Enter your username', focusId: 'username' });
    if (!values.password) errors.push({ text: 'Enter your password', focusId: 'password' });
    if (errors.length) return showErrors(errors.filter((e) => e.text));
    try {
      const r = await api('POST', '/api/v1/session', { username: values.username, password: questions.password.read() });
      setCsrf(r.csrf_token);
      session.me = null; // read again with the new session
      navigate(safeNext, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 422)) {
        showErrors([{ text: e.status === 401 ? 'Enter a correct username and password' : e.message, focusId: 'username' }]);
      } else if (e instanceof ApiError && e.status === 429) {
        showErrors([{ text: 'Too many wrong passwords: your account is locked for 15 minutes', focusId: 'username' }]);
      } else {
        showErrors([{ text: e.message, focusId: 'username' }]);
      }
    }
  } },
  questions.username.el, questions.password.el,
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Sign in'));
  return {
    title: 'Sign in',
    body: [
      successBanner(flash),
      h('div', { class: 'govuk-grid-row' }, h('div', { class: 'govuk-grid-column-two-thirds' },
        h('h1', { class: 'govuk-heading-l' }, 'Sign in to EHC needs assessments'),
        h('p', { class: 'govuk-body' }, 'For council EHC officers, team managers and designated clinical officers.'),
        form)),
    ],
  };
}
