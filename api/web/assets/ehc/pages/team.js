// A manager's pages for their team: the caseload by stage and by officer (GET /api/v1/caseload and
// GET /api/v1/cases), the unallocated queue with (re)allocation of one case or many at once
// (POST /api/v1/allocations, each case's outcome shown), and the cases overdue or due this week (the
// case list's overdue and due_within_days filters).
import { api, ApiError, today as getToday, workflow as getWorkflow } from '../api.js';
import { h, link, table, para, button } from '../dom.js';
import { dateText, daysBetween, daysLeftText, ragTag, humanise } from '../format.js';
import { showErrors, showApiError, clearErrors, selectQuestion } from '../forms.js';
import { navigate, session } from '../main.js';

const WORKFLOW = 'ehc-needs-assessment';
export const MANAGER_ROLES = ['manager', 'service_manager'];

function officerName(c) {
  if (!c.officer_id) return 'Not allocated';
  return c.officer_id === session.me.user.id ? 'You' : c.officer_name || `Officer ${c.officer_id}`;
}

// The team pages' own sub-navigation (GOV.UK's secondary links, as a list of links).
function teamLinks(current) {
  const items = [
    ['/app/team', 'Caseload by stage and officer'],
    ['/app/team/unallocated', 'Unallocated queue'],
    ['/app/team/due', 'Overdue and due this week'],
    ['/app/reports/timeliness', 'Timeliness'],
  ];
  return h('nav', { 'aria-label': 'Team pages', class: 'govuk-!-margin-bottom-6' },
    h('ul', { class: 'govuk-list ehc-inline-list' },
      items.map(([href, text]) => h('li', {}, href === current
        ? h('a', { href, class: 'govuk-link govuk-link--no-visited-state', 'aria-current': 'page' }, h('strong', {}, text))
        : link(href, text, { class: 'govuk-link govuk-link--no-visited-state' })))));
}

function stageTitles(wf) {
  const titles = new Map();
  wf?.stages.forEach((s, i) => titles.set(s.id, { title: s.title, order: i }));
  return titles;
}

async function loadWorkflow() {
  try {
    return await getWorkflow(WORKFLOW);
  } catch {
    return null; // stage ids are shown as words instead
  }
}

// ---- the caseload by stage and by officer ---------------------------------------------------------------

export async function teamPage() {
  const [load, cases, wf] = await Promise.all([api('GET', '/api/v1/caseload'), api('GET', '/api/v1/cases?limit=500'), loadWorkflow()]);
  const titles = stageTitles(wf);
  const byStage = new Map();
  for (const c of cases) byStage.set(c.stage, (byStage.get(c.stage) || 0) + 1);
  const stageRows = [...byStage.entries()]
    .sort(([a], [b]) => (titles.get(a)?.order ?? 99) - (titles.get(b)?.order ?? 99))
    .map(([stage, n]) => [link(`/app/team/stage/${encodeURIComponent(stage)}`, titles.get(stage)?.title || humanise(stage)), String(n)]);
  const teams = new Set(load.officers.map((o) => o.team_id));
  const officerRows = load.officers.map((o) => [
    o.display_name + (teams.size > 1 ? ` (team ${o.team_id})` : ''),
    String(o.open_cases),
    o.open_cases ? link(`/app/team/unallocated?officer=${o.officer_id}`, ['Reallocate', h('span', { class: 'govuk-visually-hidden' }, ` cases of ${o.display_name}`)]) : '',
  ]);
  officerRows.push([link('/app/team/unallocated', 'Unallocated queue'), String(load.unallocated), '']);
  return {
    title: 'Team caseload',
    body: [
      h('h1', { class: 'govuk-heading-l' }, 'Team caseload'),
      teamLinks('/app/team'),
      para(`${cases.length} open ${cases.length === 1 ? 'case' : 'cases'}, ${load.unallocated} not allocated to an officer.`),
      stageRows.length
        ? table('Open cases by stage', ['Stage', 'Open cases'], stageRows, { id: 'by-stage', numeric: [1], rowHeaders: true })
        : [h('h2', { class: 'govuk-heading-m' }, 'Open cases by stage'), para('There are no open cases.')],
      table('Open cases by officer', ['Officer', 'Open cases', 'Action'], officerRows, { id: 'by-officer', numeric: [1], rowHeaders: true }),
      para(link('/api/v1/caseload?format=csv', 'Download the open cases by officer (CSV)'), ' or ', link('/api/v1/cases?limit=500&format=csv', 'the open cases (CSV)')),
    ],
  };
}

// The open cases at one stage.
export async function stagePage({ params }) {
  const stage = decodeURIComponent(params[0]);
  const [cases, today, wf] = await Promise.all([api('GET', `/api/v1/cases?limit=500&stage=${encodeURIComponent(stage)}`), getToday(), loadWorkflow()]);
  const title = stageTitles(wf).get(stage)?.title || humanise(stage);
  return {
    title: `Cases at stage ${title}`,
    body: [
      h('span', { class: 'govuk-caption-l' }, 'Team caseload'),
      h('h1', { class: 'govuk-heading-l' }, title),
      teamLinks(null),
      caseTable(`Open cases at this stage (${cases.length})`, cases, today, 'stage-cases'),
    ],
  };
}

function caseTable(caption, cases, today, id) {
  if (!cases.length) return [h('h2', { class: 'govuk-heading-m' }, caption), para('There are no cases here.')];
  return table(caption, ['Case', 'Stage', 'Next statutory date', 'Days left', 'Status', 'Officer'], cases.map((c) => {
    const days = c.next_due_on ? daysBetween(today, c.next_due_on) : null;
    return [
      link(`/app/cases/${c.id}`, c.reference),
      humanise(c.stage),
      c.next_deadline ? [humanise(c.next_deadline), h('br'), h('span', { class: 'govuk-body-s' }, dateText(c.next_due_on))] : 'None open',
      daysLeftText(days),
      ragTag(days),
      officerName(c),
    ];
  }), { id });
}

// ---- overdue and due this week ---------------------------------------------------------------------------

export async function duePage() {
  const [overdue, week, today] = await Promise.all([
    api('GET', '/api/v1/cases?overdue=true&limit=500'),
    api('GET', '/api/v1/cases?due_within_days=7&limit=500'),
    getToday(),
  ]);
  const dueSoon = week.filter((c) => c.next_due_on && daysBetween(today, c.next_due_on) >= 0);
  return {
    title: 'Overdue and due this week',
    body: [
      h('h1', { class: 'govuk-heading-l' }, 'Overdue and due this week'),
      teamLinks('/app/team/due'),
      para(`Today is ${dateText(today)}.`),
      caseTable(`Overdue (${overdue.length})`, overdue, today, 'overdue'),
      caseTable(`Due in the next 7 days (${dueSoon.length})`, dueSoon, today, 'due-this-week'),
    ],
  };
}

// ---- the unallocated queue and (re)allocation ----------------------------------------------------------

function outcomeText(r, target) {
  if (r.status === 201) return `Allocated to ${target}`;
  if (r.status === 200) return `Already allocated to ${target}: nothing changed`;
  return `Not allocated: ${r.error?.message || `the service answered ${r.status}`}`;
}

function outcomePanel(outcome) {
  if (!outcome) return null;
  const ok = outcome.results.every((r) => r.status === 200 || r.status === 201);
  return h('div', {
    class: `govuk-notification-banner${ok ? ' govuk-notification-banner--success' : ''}`,
    role: ok ? 'alert' : 'region', 'aria-labelledby': 'allocation-title', 'data-module': 'govuk-notification-banner', id: 'allocation-outcome',
  },
  h('div', { class: 'govuk-notification-banner__header' }, h('h2', { class: 'govuk-notification-banner__title', id: 'allocation-title' }, ok ? 'Success' : 'Important')),
  h('div', { class: 'govuk-notification-banner__content' },
    h('p', { class: 'govuk-notification-banner__heading' }, `${outcome.allocated} of ${outcome.results.length} ${outcome.results.length === 1 ? 'case' : 'cases'} allocated to ${outcome.target}`),
    h('ul', { class: 'govuk-list', id: 'allocation-results' },
      outcome.results.map((r) => h('li', {}, h('strong', {}, outcome.references[r.case_id] || `Case ${r.case_id}`), `: ${outcomeText(r, outcome.target)}`)))));
}

export async function unallocatedPage({ query, flash }) {
  const from = query.get('officer');
  const fromId = from && /^\d+$/.test(from) ? Number(from) : null;
  const [load, cases, today] = await Promise.all([
    api('GET', '/api/v1/caseload'),
    api('GET', fromId ? `/api/v1/cases?limit=500&officer_id=${fromId}` : '/api/v1/cases?limit=500&unallocated=true'),
    getToday(),
  ]);
  const fromName = fromId ? (load.officers.find((o) => o.officer_id === fromId)?.display_name || `Officer ${fromId}`) : null;
  const here = fromId ? `/app/team/unallocated?officer=${fromId}` : '/app/team/unallocated';
  const teams = [...new Set([...load.officers.map((o) => o.team_id), ...cases.map((c) => c.team_id)])];
  const multi = teams.length > 1;
  const targets = [];
  for (const o of load.officers) {
    if (o.officer_id === fromId) continue;
    targets.push([`${o.team_id}:${o.officer_id}`, `${o.display_name}${multi ? ` (team ${o.team_id})` : ''}, ${o.open_cases} open ${o.open_cases === 1 ? 'case' : 'cases'}`]);
  }
  if (fromId) for (const t of teams) targets.push([`${t}:`, multi ? `The unallocated queue of team ${t}` : 'The unallocated queue']);
  const officer = selectQuestion('allocate-to', 'Allocate the selected cases to', targets);
  const reason = h('input', { class: 'govuk-input govuk-!-width-two-thirds', id: 'allocate-reason', name: 'reason', type: 'text', maxlength: 500 });

  const boxes = cases.map((c, i) => h('input', { class: 'govuk-checkboxes__input', id: i === 0 ? 'cases' : `cases-${c.id}`, name: 'case', type: 'checkbox', value: c.id, 'data-reference': c.reference }));
  const rows = cases.map((c, i) => {
    const days = c.next_due_on ? daysBetween(today, c.next_due_on) : null;
    return [
      h('div', { class: 'govuk-checkboxes govuk-checkboxes--small' },
        h('div', { class: 'govuk-checkboxes__item' }, boxes[i],
          h('label', { class: 'govuk-label govuk-checkboxes__label', for: boxes[i].id }, h('span', { class: 'govuk-visually-hidden' }, `Select ${c.reference}`)))),
      link(`/app/cases/${c.id}`, c.reference),
      humanise(c.stage),
      c.next_due_on ? [dateText(c.next_due_on), h('br'), h('span', { class: 'govuk-body-s' }, daysLeftText(days))] : 'None open',
      ragTag(days),
    ];
  });

  const form = h('form', { novalidate: true, id: 'allocation-form', onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const chosen = boxes.filter((b) => b.checked);
    const errors = [];
    if (!chosen.length) errors.push({ text: 'Select at least one case to allocate', focusId: 'cases' });
    const target = officer.read();
    if (!target) errors.push({ text: 'Select the officer to allocate the cases to', focusId: officer.focusId });
    if (errors.length) return showErrors(errors);
    const [teamId, officerId] = target.split(':');
    const body = { case_ids: chosen.map((b) => Number(b.value)), team_id: Number(teamId), officer_id: officerId ? Number(officerId) : null };
    if (reason.value.trim()) body.reason = reason.value.trim();
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      const answer = await api('POST', '/api/v1/allocations', body);
      const targetName = officerId ? (load.officers.find((o) => o.officer_id === Number(officerId))?.display_name || `Officer ${officerId}`) : 'the unallocated queue';
      const references = Object.fromEntries(chosen.map((b) => [b.value, b.dataset.reference]));
      navigate(here, { replace: true, flash: { allocated: answer.allocated, results: answer.results, target: targetName, references } });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      showApiError(err, {}, 'cases');
    }
  } },
  rows.length
    ? [
      h('div', { class: 'govuk-form-group', 'data-field-group': 'cases' },
        h('div', { class: 'govuk-hint', id: 'cases-hint' }, 'Select the cases to allocate.'),
        table(fromId ? `Open cases of ${fromName} (${cases.length})` : `Cases not allocated to an officer (${cases.length})`,
          [h('span', { class: 'govuk-visually-hidden' }, 'Select'), 'Case', 'Stage', 'Next statutory date', 'Status'], rows, { id: 'queue' })),
      officer.el,
      h('div', { class: 'govuk-form-group' },
        h('label', { class: 'govuk-label govuk-label--s', for: 'allocate-reason' }, 'Reason (optional)'),
        h('div', { class: 'govuk-hint', id: 'allocate-reason-hint' }, 'For example, caseload balance. Recorded with each case\'s allocation.'),
        reason),
      button(fromId ? 'Reallocate the selected cases' : 'Allocate the selected cases'),
    ]
    : para(fromId ? `${fromName} has no open cases.` : 'There are no cases waiting to be allocated.'));
  reason.setAttribute('aria-describedby', 'allocate-reason-hint');

  return {
    title: fromId ? `Reallocate cases of ${fromName}` : 'Unallocated queue',
    body: [
      flash && typeof flash === 'object' ? outcomePanel(flash) : null,
      h('h1', { class: 'govuk-heading-l' }, fromId ? `Reallocate cases of ${fromName}` : 'Unallocated queue'),
      teamLinks(fromId ? null : '/app/team/unallocated'),
      para('Select one case or several, choose the officer, then allocate them. Each case records who allocated it and when.'),
      form,
    ],
  };
}
