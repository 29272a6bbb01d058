// A case: the child, the stages of its process as a progress list, forms for the events the user may
// record next (generated from the workflow definition, GET /api/v1/workflows/{id}: which events the
// current stage allows, for which roles, with which fields), every statutory date with its legal
// basis and status, the advice requests, exceptions, alerts, and the timeline of events.
import { api, ApiError, today as getToday, workflow as getWorkflow } from '../api.js';
import { h, successBanner, table, summaryList, tag, para, inset } from '../dom.js';
import { dateText, daysBetween, daysLeftText, humanise, statusTag, levelTag, ragTag } from '../format.js';
import { fieldQuestion, dateQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate, session } from '../main.js';

// The stages shown as progress: the numbered ones ("1 Request received ...") when the workflow numbers
// them, else every stage that is not final.
function progressStages(wf) {
  const numbered = wf.stages.filter((s) => /^\d+\s/.test(s.title));
  return numbered.length ? numbered : wf.stages.filter((s) => !s.final);
}

function progress(wf, c) {
  const stages = progressStages(wf);
  const at = stages.findIndex((s) => s.id === c.stage);
  const here = wf.stages.find((s) => s.id === c.stage);
  const list = h('ol', { class: 'ehc-progress', 'aria-label': 'Stages of the process' },
    stages.map((s, i) => {
      const state = at < 0 ? (here?.final && c.stage === 'review_cycle' ? 'done' : 'none') : i < at ? 'done' : i === at ? 'current' : 'todo';
      const words = { done: ['Completed', 'green'], current: ['Current stage', 'blue'], todo: ['Not reached', 'grey'], none: ['Not reached', 'grey'] }[state];
      return h('li', { class: `ehc-progress__item ehc-progress__item--${state}`, 'aria-current': state === 'current' ? 'step' : null },
        h('span', {}, s.title), tag(words[0], words[1]));
    }));
  return [
    h('h2', { class: 'govuk-heading-m', id: 'progress' }, 'Progress'),
    at < 0 && here && inset(`This case is now at: ${here.title}.`),
    list,
  ];
}

function eventTitle(wf, type) {
  return wf.events.find((e) => e.id === type)?.title || humanise(type);
}

function valueText(v) {
  if (typeof v === 'boolean') return v ? 'Yes' : 'No';
  if (typeof v !== 'string') return String(v);
  const dt = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}:\d{2}))?$/.exec(v);
  if (dt) return dt[2] ? `${dateText(dt[1])} at ${dt[2]}` : dateText(dt[1]);
  return /^[a-z0-9_]+$/.test(v) ? humanise(v) : v;
}

function fieldsText(fields) {
  return Object.entries(fields || {}).map(([k, v]) => `${humanise(k)}: ${valueText(v)}`).join('; ');
}

// A form for one event: its fields, its date, and the case version it was read at.
function eventForm(wf, c, ev, today) {
  const prefix = `ev-${ev.id}`;
  const questions = {};
  for (const f of ev.fields) questions[`fields.${f.id}`] = fieldQuestion(f, prefix, { today });
  if (!ev.effective_date_field) questions.effective_on = dateQuestion(`${prefix}-effective_on`, 'Date it happened', { value: today });
  const idempotencyKey = crypto.randomUUID();
  const form = h('form', { novalidate: true, 'data-event': ev.id, onsubmit: async (e) => {
    e.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (errors.length) return showErrors(errors);
    const fields = {};
    for (const [k, v] of Object.entries(values)) if (k.startsWith('fields.')) fields[k.slice(7)] = v;
    const effective = ev.effective_date_field ? fields[ev.effective_date_field] : values.effective_on;
    if (!effective) return showErrors([{ text: 'Enter the date it happened', focusId: questions.effective_on?.focusId }]);
    const body = { type: ev.id, effective_on: effective, expected_version: c.version };
    if (Object.keys(fields).length) body.fields = fields;
    const submit = form.querySelector('button[type=submit]');
    submit.disabled = true;
    try {
      await api('POST', `/api/v1/cases/${c.id}/events`, body, { 'Idempotency-Key': idempotencyKey });
      navigate(`/app/cases/${c.id}`, { replace: true, flash: `Recorded: ${ev.title}` });
    } catch (err) {
      submit.disabled = false;
      if (!(err instanceof ApiError)) throw err;
      if (err.status === 409) err.message = 'Someone else has changed this case since you opened it. Reload the page to see what changed, then try again.';
      showApiError(err, questions, Object.values(questions)[0]?.focusId);
    }
  } },
  Object.values(questions).map((q) => q.el),
  h('button', { type: 'submit', class: 'govuk-button', 'data-module': 'govuk-button' }, 'Record this'));
  return h('details', { class: 'govuk-details', id: `record-${ev.id}` },
    h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, ev.title)),
    h('div', { class: 'govuk-details__text' },
      ev.roles.length && h('p', { class: 'govuk-hint' }, `Recorded by: ${ev.roles.map(humanise).join(', ')}`),
      form));
}

function nextEvents(wf, c, today) {
  const mine = session.caseRoles(c);
  const allowed = wf.events.filter((e) => !e.opens_case && !e.records_exception && e.allowed_in.includes(c.stage));
  const forMe = allowed.filter((e) => e.roles.some((r) => mine.has(r)));
  const others = allowed.filter((e) => !forMe.includes(e));
  return [
    h('h2', { class: 'govuk-heading-m', id: 'record' }, 'Record what happened next'),
    c.status !== 'open'
      ? para('This case is closed: nothing more can be recorded on it.')
      : forMe.length
        ? [para('The law allows these events at this stage. Open one to record it.'), forMe.map((e) => eventForm(wf, c, e, today))]
        : para('There is nothing you can record at this stage.'),
    c.status === 'open' && others.length > 0 && h('details', { class: 'govuk-details' },
      h('summary', { class: 'govuk-details__summary' }, h('span', { class: 'govuk-details__summary-text' }, 'Events someone else records at this stage')),
      h('div', { class: 'govuk-details__text' },
        h('ul', { class: 'govuk-list govuk-list--bullet' }, others.map((e) => h('li', {}, `${e.title} (${e.roles.map(humanise).join(', ')})`))))),
  ];
}

function deadlines(wf, c, today) {
  const title = (d) => wf.deadlines.find((x) => x.id === d.deadline)?.title || humanise(d.deadline);
  const rows = c.deadlines.map((d) => {
    const open = d.status === 'open' || d.status === 'overdue';
    const days = open ? daysBetween(today, d.due_on) : null;
    return [
      [title(d), d.key ? ` (${humanise(d.key)})` : ''],
      d.basis || '',
      h('span', { class: 'ehc-nowrap' }, dateText(d.due_on)),
      [statusTag(d.status, d.exception_applies), d.settled_on ? [h('br'), h('span', { class: 'govuk-body-s' }, `on ${dateText(d.settled_on)}`)] : ''],
      open ? [daysLeftText(days), h('br'), ragTag(days)] : '',
    ];
  });
  return rows.length
    ? table('Statutory dates', ['Date', 'Legal basis', 'Due', 'Status', 'Days left'], rows, { id: 'deadlines' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Statutory dates'), para('No statutory date has started yet.')];
}

function adviceRequests(c) {
  const rows = (c.advice_requests || []).map((a) => [
    humanise(a.adviser_type), humanise(a.request_key), dateText(a.received_by_adviser_on || a.sent_on), dateText(a.due_on),
    a.returned_on ? (a.nil_reason ? `Nil return on ${dateText(a.returned_on)}: ${humanise(a.nil_reason)}` : `Returned on ${dateText(a.returned_on)}`) : 'Outstanding',
  ]);
  return rows.length
    ? table('Advice requests', ['Adviser', 'Request', 'Received by adviser', 'Due', 'Outcome'], rows, { id: 'advice' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Advice requests'), para('No advice has been requested.')];
}

function exceptions(c) {
  const rows = (c.exceptions || []).map((x) => [humanise(x.deadline), humanise(x.exception), dateText(x.applies_from), x.evidence || '']);
  return rows.length
    ? table('Exceptions to time limits', ['Date', 'Exception', 'Applies from', 'Evidence'], rows, { id: 'exceptions' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Exceptions to time limits'), para('No exception has been recorded.')];
}

function alerts(c) {
  const byId = new Map(c.deadlines.map((d) => [d.id, d]));
  const rows = (c.alerts || []).map((a) => [levelTag(a.level), humanise(byId.get(a.deadline_id)?.deadline || ''), dateText(a.fire_at), humanise(a.resolution ? `${a.status}: ${a.resolution}` : a.status)]);
  return rows.length
    ? table('Alerts', ['Alert', 'Statutory date', 'Raised on', 'Status'], rows, { id: 'alerts' })
    : [h('h2', { class: 'govuk-heading-m' }, 'Alerts'), para('No alert has been raised.')];
}

function timeline(wf, c) {
  const rows = [...c.events].reverse().map((e) => [
    h('span', { class: 'ehc-nowrap' }, dateText(e.effective_on)), eventTitle(wf, e.type), fieldsText(e.fields), humanise(e.actor_role),
  ]);
  return table('Timeline, latest first', ['Date', 'Event', 'Details', 'Recorded by'], rows, { id: 'timeline' });
}

export async function casePage({ params, flash }) {
  const [c, today] = await Promise.all([api('GET', `/api/v1/cases/${params[0]}`), getToday()]);
  const wf = await getWorkflow(c.workflow_id);
  const stage = wf.stages.find((s) => s.id === c.stage);
  const child = c.child || {};
  const name = child.erased ? 'Erased record' : `${child.forename || ''} ${child.surname || ''}`.trim();
  return {
    title: `${c.reference}: ${name}`,
    body: [
      successBanner(flash),
      h('span', { class: 'govuk-caption-l' }, `Case ${c.reference}`),
      h('h1', { class: 'govuk-heading-l' }, name),
      summaryList([
        ['Date of birth', dateText(child.date_of_birth)],
        child.nhs_number && ['NHS number', child.nhs_number],
        ['Process', wf.title],
        ['Stage', stage?.title || humanise(c.stage)],
        ['Status', c.status === 'open' ? 'Open' : `Closed on ${dateText(c.closed_on)}`],
        ['Request received (Day 0)', dateText(c.opened_on)],
        ['Officer', c.officer_id === session.me.user.id ? 'You' : c.officer_id ? `Officer ${c.officer_id}` : 'Not allocated'],
      ]),
      progress(wf, c),
      nextEvents(wf, c, today),
      deadlines(wf, c, today),
      adviceRequests(c),
      exceptions(c),
      alerts(c),
      timeline(wf, c),
    ],
  };
}
