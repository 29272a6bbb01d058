// The browser interface: a small router over /app/... (ehcd serves index.html for each), the
// signed-in user and their roles, the service navigation, and one page function per route. Every
// page is built from the JSON API; nothing is rendered on the server.
import { ServiceNavigation, SkipLink } from '/assets/govuk/govuk-frontend.min.js';
import { api, ApiError, setCsrf } from './api.js';
import { h, clear, link, append } from './dom.js';
import { clearErrors } from './forms.js';
import { signInPage } from './pages/signin.js';
import { caseloadPage } from './pages/caseload.js';
import { casePage } from './pages/case.js';
import { newCasePage } from './pages/newcase.js';
import { advicePage, adviceReturnPage } from './pages/advice.js';
import { alertsPage } from './pages/alerts.js';
import { teamPage, stagePage, duePage, unallocatedPage } from './pages/team.js';
import { timelinessPage } from './pages/timeliness.js';
import { childrenPage, mergePage } from './pages/children.js';
import { reviewsPage, transfersPage } from './pages/reviews.js';

document.body.classList.add('js-enabled', 'govuk-frontend-supported');
const skip = document.querySelector('[data-module="govuk-skip-link"]');
if (skip) new SkipLink(skip);

const SERVICE = 'EHC needs assessments';

export const session = {
  me: null, // {user, grants} once signed in
  roles() {
    return new Set((this.me?.grants || []).map((g) => g.role));
  },
  has(...roles) {
    const mine = this.roles();
    return roles.some((r) => mine.has(r));
  },
  // The roles the user holds for a case of this team and authority (as ehcd decides them).
  caseRoles(c) {
    const out = new Set();
    for (const g of this.me?.grants || []) {
      if ((g.role === 'officer' || g.role === 'manager') && g.team_id === c.team_id) out.add(g.role);
      if (g.role === 'service_manager' && g.authority_id === c.authority_id) out.add(g.role);
    }
    return out;
  },
};

const routes = [
  [/^\/app\/sign-in$/, signInPage, { public: true }],
  [/^\/app\/?$/, homePage],
  [/^\/app\/cases$/, caseloadPage],
  [/^\/app\/cases\/new$/, newCasePage],
  [/^\/app\/cases\/(\d+)$/, casePage],
  [/^\/app\/advice$/, advicePage],
  [/^\/app\/advice\/(\d+)$/, adviceReturnPage],
  [/^\/app\/alerts$/, alertsPage],
  [/^\/app\/team$/, teamPage],
  [/^\/app\/team\/stage\/([a-z0-9_-]+)$/, stagePage],
  [/^\/app\/team\/due$/, duePage],
  [/^\/app\/team\/unallocated$/, unallocatedPage],
  [/^\/app\/reports\/timeliness$/, timelinessPage],
  [/^\/app\/children$/, childrenPage],
  [/^\/app\/children\/(\d+)\/merge$/, mergePage],
  [/^\/app\/reviews$/, reviewsPage],
  [/^\/app\/reviews\/transfers$/, transfersPage],
];

let leaving = []; // what the current page must close when the user moves on (the live feed)
export function onLeave(fn) {
  leaving.push(fn);
}

export function navigate(path, { replace = false, flash } = {}) {
  if (replace) history.replaceState({ flash }, '', path);
  else history.pushState({ flash }, '', path);
  render();
}

async function homePage() {
  if (session.has('officer', 'manager', 'service_manager')) return navigate('/app/cases', { replace: true });
  if (session.has('dco', 'social_care')) return navigate('/app/advice', { replace: true });
  return {
    title: 'Home',
    body: [h('h1', { class: 'govuk-heading-l' }, 'You have no cases to work on'),
      h('p', { class: 'govuk-body' }, 'Your account has no officer, manager or adviser role. Ask your service\'s administrator to give you one.')],
  };
}

function renderNavigation(path) {
  const slot = clear(document.getElementById('service-navigation'));
  if (!session.me) return;
  const items = [];
  if (session.has('officer', 'manager', 'service_manager')) {
    items.push(['/app/cases', 'Caseload']);
    items.push(['/app/cases/new', 'Open a case']);
    items.push(['/app/reviews', 'Annual reviews']);
  }
  if (session.has('officer', 'manager', 'service_manager', 'dco', 'social_care')) items.push(['/app/advice', 'Advice requests']);
  if (session.has('officer', 'manager', 'service_manager')) items.push(['/app/alerts', 'Alerts']);
  if (session.has('manager', 'service_manager')) items.push(['/app/team', 'Team']);
  if (session.has('officer', 'manager', 'service_manager')) items.push(['/app/children', 'Find a child']);
  const current = (href) => path === href || (href === '/app/cases' && /^\/app\/cases\/\d+$/.test(path)) || (href === '/app/advice' && path.startsWith('/app/advice/'))
    || (href === '/app/team' && (path.startsWith('/app/team/') || path.startsWith('/app/reports/')))
    || ((href === '/app/reviews' || href === '/app/children') && path.startsWith(`${href}/`));
  const nav = h('div', { class: 'govuk-service-navigation', 'data-module': 'govuk-service-navigation' },
    h('div', { class: 'govuk-width-container' },
      h('div', { class: 'govuk-service-navigation__container' },
        h('nav', { 'aria-label': 'Menu', class: 'govuk-service-navigation__wrapper' },
          h('button', { type: 'button', class: 'govuk-service-navigation__toggle govuk-js-service-navigation-toggle', 'aria-controls': 'navigation', hidden: true }, 'Menu'),
          h('ul', { class: 'govuk-service-navigation__list', id: 'navigation' },
            items.map(([href, text]) => current(href)
              ? h('li', { class: 'govuk-service-navigation__item govuk-service-navigation__item--active' },
                h('a', { class: 'govuk-service-navigation__link', href, 'aria-current': 'page' },
                  h('strong', { class: 'govuk-service-navigation__active-fallback' }, text)))
              : h('li', { class: 'govuk-service-navigation__item' }, h('a', { class: 'govuk-service-navigation__link', href }, text))),
            h('li', { class: 'govuk-service-navigation__item' },
              h('span', { class: 'govuk-service-navigation__text' }, session.me.user.display_name)),
            h('li', { class: 'govuk-service-navigation__item' },
              h('button', { type: 'button', class: 'govuk-service-navigation__link ehc-link-button', id: 'sign-out', onclick: signOut }, 'Sign out')))))));
  slot.append(nav);
  new ServiceNavigation(nav);
}

async function signOut() {
  try {
    await api('DELETE', '/api/v1/session');
  } catch { /* signed out already */ }
  setCsrf(null);
  session.me = null;
  navigate('/app/sign-in', { flash: 'You have signed out.' });
}

function problemPage(title, text) {
  return { title, body: [h('h1', { class: 'govuk-heading-l' }, title), h('p', { class: 'govuk-body' }, text)] };
}

let renderSeq = 0;
export async function render() {
  const seq = ++renderSeq;
  for (const fn of leaving.splice(0)) fn();
  const path = location.pathname;
  const flash = history.state?.flash;
  const [re, page, opts] = routes.find(([r]) => r.test(path)) || [null, null, {}];
  const params = re ? path.match(re).slice(1) : [];
  if (!session.me && !opts?.public) {
    try {
      session.me = await api('GET', '/api/v1/session');
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return navigate(`/app/sign-in?next=${encodeURIComponent(path + location.search)}`, { replace: true });
      return show(seq, path, problemPage('Sorry, there is a problem with the service', 'Try again later.'));
    }
  }
  let result;
  try {
    result = page ? await page({ params, query: new URLSearchParams(location.search), flash }) : problemPage('Page not found', 'If you typed the web address, check it is correct.');
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.code === 'csrf')) {
      session.me = null;
      setCsrf(null);
      return navigate(`/app/sign-in?next=${encodeURIComponent(path)}`, { replace: true, flash: 'Your session has ended. Sign in again.' });
    }
    if (e instanceof ApiError && (e.status === 404 || e.status === 403)) result = problemPage('Page not found', 'There is no such page, or you may not see it.');
    else {
      if (!(e instanceof ApiError)) console.error(e); // a fault of this code, not an answer of the service
      result = problemPage('Sorry, there is a problem with the service', e.message || 'Try again later.');
    }
  }
  if (!result) return; // the page navigated elsewhere
  show(seq, path, result);
}

function show(seq, path, { title, body }) {
  if (seq !== renderSeq) return; // a later navigation won
  clearErrors();
  renderNavigation(path);
  document.title = `${title} - ${SERVICE}`;
  const page = clear(document.getElementById('page'));
  append(page, [body]);
  // after a move within the app, the focus goes to the new page's heading, as a page load would
  // start a screen reader at the top; the first page load leaves the focus to the browser
  if (rendered++) {
    const h1 = page.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.classList.add('ehc-focus-target');
      h1.focus();
    }
  }
  window.scrollTo(0, 0);
}
let rendered = 0;

// Links to /app/... move within the app without reloading the page.
document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/app')) return;
  ev.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

if (location.pathname === '/' || location.pathname === '/app') history.replaceState(null, '', '/app/');
render();

export { link };
