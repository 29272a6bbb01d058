// Alerts: the live feed (GET /api/v1/alerts/stream, Server-Sent Events: new alerts appear without
// reloading, announced politely to screen readers) above the list of open alerts in the user's
// scope (GET /api/v1/alerts), each of which may be acknowledged.
import { api, ApiError } from '../api.js';
import { h, successBanner, link, table, para } from '../dom.js';
import { dateText, humanise, levelTag } from '../format.js';
import { showApiError, clearErrors } from '../forms.js';
import { navigate, onLeave } from '../main.js';

function liveFeed() {
  const list = h('ul', { class: 'govuk-list', id: 'live-alerts' });
  const status = h('p', { class: 'govuk-body-s', id: 'live-status' }, 'Connecting to the live feed…');
  const region = h('div', { class: 'ehc-live', 'aria-live': 'polite', 'aria-relevant': 'additions' }, list);
  const es = new EventSource('/api/v1/alerts/stream', { withCredentials: true });
  es.addEventListener('open', () => { status.textContent = 'Live: new alerts appear here as they are raised.'; });
  es.addEventListener('error', () => { status.textContent = 'The live feed is reconnecting…'; });
  es.addEventListener('alert', (ev) => {
    let a;
    try { a = JSON.parse(ev.data); } catch { return; }
    list.prepend(h('li', { class: 'govuk-!-margin-bottom-2', 'data-level': a.level },
      levelTag(a.level), ' ',
      link(`/app/cases/${a.case_id}`, `${humanise(a.deadline_key)}${a.instance_key ? ` (${humanise(a.instance_key)})` : ''}, due ${dateText(a.due_on)}`)));
  });
  onLeave(() => es.close());
  return [h('h2', { class: 'govuk-heading-m' }, 'Live feed'), status, region];
}

export async function alertsPage({ flash }) {
  const alerts = await api('GET', '/api/v1/alerts?status=open');
  const rows = alerts.map((a) => [
    levelTag(a.level),
    link(`/app/cases/${a.case_id}`, a.case_reference),
    [humanise(a.deadline), h('br'), h('span', { class: 'govuk-body-s' }, a.basis || '')],
    dateText(a.due_on),
    h('form', { novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      clearErrors();
      try {
        await api('POST', `/api/v1/alerts/${a.id}/acknowledge`, {});
        navigate('/app/alerts', { replace: true, flash: `Alert on ${a.case_reference} acknowledged` });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        showApiError(err, {}, null);
      }
    } }, h('button', { type: 'submit', class: 'govuk-button govuk-button--secondary govuk-!-margin-bottom-0', 'data-module': 'govuk-button' },
      'Acknowledge', h('span', { class: 'govuk-visually-hidden' }, ` the alert on ${a.case_reference}, ${humanise(a.deadline)}`))),
  ]);
  return {
    title: 'Alerts',
    body: [
      successBanner(flash),
      h('h1', { class: 'govuk-heading-l' }, 'Alerts'),
      liveFeed(),
      rows.length
        ? table(`Open alerts (${rows.length})`, ['Alert', 'Case', 'Statutory date', 'Due', 'Action'], rows, { id: 'open-alerts' })
        : [h('h2', { class: 'govuk-heading-m' }, 'Open alerts'), para('There are no open alerts.')],
      rows.length ? para(link('/api/v1/alerts?status=open&format=csv', 'Download the open alerts (CSV)')) : null,
    ],
  };
}
