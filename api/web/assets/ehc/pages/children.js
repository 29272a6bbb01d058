// Finding a child (GET /api/v1/children): by surname and date of birth, by NHS number or by UPN, within
// the user's authorities, each child linking to their cases. What was searched for stays in the page,
// never in its address (an address ends up in histories and logs).
import { api, ApiError } from '../api.js';
import { h, table, para, button, link, clear, append, summaryList } from '../dom.js';
import { dateText, humanise } from '../format.js';
import { textQuestion, dateQuestion, radiosQuestion, textareaQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';
import { navigate, session } from '../main.js';

const fullName = (c) => `${c.forename || ''} ${c.surname || ''}`.trim();

// A manager may merge two records of one child found by the same search: the link carries the search's
// results in the page's history state (never in the address).
function mergeLink(c, children) {
  return h('a', { href: `/app/children/${c.id}/merge`, class: 'govuk-link', onclick: (ev) => {
    ev.preventDefault();
    navigate(`/app/children/${c.id}/merge`, { flash: { children } });
  } }, 'Merge', h('span', { class: 'govuk-visually-hidden' }, ` the record of ${fullName(c)} (record ${c.id}) with another`));
}

function results(children) {
  const merging = children.length > 1 && session.has('manager', 'service_manager');
  if (!children.length) return [h('h2', { class: 'govuk-heading-m', id: 'results-title' }, 'No child found'), para('No child of your authorities matches all of what you entered. Check the spelling and the date of birth, or search by NHS number or UPN.')];
  return table(`${children.length} ${children.length === 1 ? 'child' : 'children'} found`, ['Name', 'Date of birth', 'NHS number', 'UPN', 'Cases', merging && 'Duplicate records'].filter(Boolean), children.map((c) => [
    fullName(c),
    dateText(c.date_of_birth),
    c.nhs_number || '',
    c.upn || '',
    c.cases.length
      ? h('ul', { class: 'govuk-list' }, c.cases.map((k) => h('li', {}, link(`/app/cases/${k.id}`, k.reference), ` (${humanise(k.stage)}${k.status !== 'open' ? `, ${humanise(k.status)}` : ''})`)))
      : 'No cases',
    merging && mergeLink(c, children),
  ].filter((x) => x !== false)), { id: 'children', rowHeaders: true });
}

export async function childrenPage() {
  const questions = {
    surname: textQuestion('child-surname', 'Surname', { autocomplete: 'off', spellcheck: false }),
    date_of_birth: dateQuestion('child-dob', 'Date of birth', { hint: 'For example, 11 3 2018' }),
    nhs_number: textQuestion('child-nhs', 'NHS number', { width: 10, hint: '10 digits, for example 9434765919', spellcheck: false }),
    upn: textQuestion('child-upn', 'Unique pupil number (UPN)', { width: 20, hint: '13 characters, for example A123456789012', spellcheck: false }),
  };
  questions.nhs_number.el.querySelector('input').setAttribute('inputmode', 'numeric');
  const out = h('div', { id: 'search-results', 'aria-live': 'polite' });
  const form = h('form', { novalidate: true, id: 'child-search', onsubmit: async (ev) => {
    ev.preventDefault();
    clearErrors();
    const { values, errors } = readQuestions(questions);
    if (errors.length) return showErrors(errors);
    const nhs = (values.nhs_number || '').replace(/\s+/g, '');
    if (nhs && !/^\d{10}$/.test(nhs)) return showErrors([{ text: 'Enter an NHS number of 10 digits', focusId: questions.nhs_number.focusId }]);
    if (!values.surname && !nhs && !values.upn) return showErrors([{ text: 'Enter a surname and date of birth, an NHS number or a UPN', focusId: questions.surname.focusId }]);
    if (values.surname && !values.date_of_birth && !nhs && !values.upn) return showErrors([{ text: 'Enter the child\'s date of birth with their surname', focusId: questions.date_of_birth.focusId }]);
    const q = new URLSearchParams();
    if (values.surname) q.set('surname', values.surname);
    if (values.date_of_birth) q.set('date_of_birth', values.date_of_birth);
    if (nhs) q.set('nhs_number', nhs);
    if (values.upn) q.set('upn', values.upn.toUpperCase());
    try {
      const found = await api('GET', `/api/v1/children?${q}`);
      append(clear(out), [results(found)]);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      const map = { surname: questions.surname, date_of_birth: questions.date_of_birth, nhs_number: questions.nhs_number, upn: questions.upn };
      showApiError(err, map, questions.surname.focusId);
    }
  } },
  h('fieldset', { class: 'govuk-fieldset' },
    h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--m' }, 'By name and date of birth'),
    questions.surname.el, questions.date_of_birth.el),
  h('fieldset', { class: 'govuk-fieldset' },
    h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--m' }, 'Or by a number'),
    questions.nhs_number.el, questions.upn.el),
  button('Search'));
  return {
    title: 'Find a child',
    body: [
      h('h1', { class: 'govuk-heading-l' }, 'Find a child'),
      para('Search the children of your authorities. Everything you enter must match. Opening a case is recorded in its access log.'),
      form,
      out,
    ],
  };
}

// ---- merging two records of one child (managers) ----------------------------------------------------------

function recordText(c) {
  const ids = [c.nhs_number && `NHS number ${c.nhs_number}`, c.upn && `UPN ${c.upn}`].filter(Boolean).join(', ');
  const cases = c.cases.length ? c.cases.map((k) => k.reference).join(', ') : 'no cases';
  return `${fullName(c)}, born ${dateText(c.date_of_birth)} (record ${c.id}${ids ? `, ${ids}` : ''}): ${cases}`;
}

function banner(id, title, heading, ...content) {
  return h('div', { class: 'govuk-notification-banner govuk-notification-banner--success', role: 'alert', 'aria-labelledby': `${id}-title`, 'data-module': 'govuk-notification-banner', id },
    h('div', { class: 'govuk-notification-banner__header' }, h('h2', { class: 'govuk-notification-banner__title', id: `${id}-title` }, title)),
    h('div', { class: 'govuk-notification-banner__content' }, h('p', { class: 'govuk-notification-banner__heading' }, heading), content));
}

export async function mergePage({ params, flash }) {
  const id = Number(params[0]);
  if (flash?.merged) {
    const { from, into, caseRefs } = flash.merged;
    return {
      title: 'Records merged',
      body: [
        banner('merge-outcome', 'Success', `The record of ${fullName(from)} was merged into record ${into.id}`,
          caseRefs.length
            ? [para(`${caseRefs.length} ${caseRefs.length === 1 ? 'case moved' : 'cases moved'} to the record kept:`),
              h('ul', { class: 'govuk-list govuk-list--bullet', id: 'moved-cases' }, caseRefs.map(([cid, ref]) => h('li', {}, link(`/app/cases/${cid}`, ref))))]
            : para('No case moved: the merged record had none.')),
        h('h1', { class: 'govuk-heading-l' }, 'Records merged'),
        summaryList([['Record kept', recordText(into)], ['Record merged (kept for the audit, found by no search)', `Record ${from.id}`]]),
        para(link('/app/children', 'Find another child')),
      ],
    };
  }
  const children = flash?.children || [];
  const from = children.find((c) => c.id === id);
  const others = children.filter((c) => c.id !== id && from && c.authority_id === from.authority_id);
  if (!from || !others.length) {
    return {
      title: 'Merge two records of a child',
      body: [h('h1', { class: 'govuk-heading-l' }, 'Merge two records of a child'),
        para('Find the child first: the records to merge are chosen from the search results. ', link('/app/children', 'Find a child'))],
    };
  }
  const keep = radiosQuestion('keep', 'Which record do you keep?', others.map((c) => [String(c.id), recordText(c)]),
    { hint: `The cases of record ${from.id} move to the record you keep.` });
  const reason = textareaQuestion('merge-reason', 'Why are these records of the same child?', { hint: 'For example, the same NHS number; recorded in the audit log with the merge.', maxLength: 500 });
  const slot = h('div', { id: 'merge-step' });
  const body = [
    h('span', { class: 'govuk-caption-l' }, 'Find a child'),
    h('h1', { class: 'govuk-heading-l' }, `Merge the record of ${fullName(from)}`),
    slot,
  ];
  let into = null;
  let why = '';
  const showForm = () => {
    clearErrors();
    slot.replaceChildren(h('form', { novalidate: true, id: 'merge-form', onsubmit: (ev) => {
      ev.preventDefault();
      clearErrors();
      const { values } = readQuestions({ keep, reason });
      const errors = [];
      if (!values.keep) errors.push({ text: 'Select the record to keep', focusId: keep.focusId });
      if (!values.reason) errors.push({ text: 'Enter why these records are of the same child', focusId: reason.focusId });
      if (errors.length) return showErrors(errors);
      into = others.find((c) => String(c.id) === values.keep);
      why = values.reason;
      showConfirm();
    } }, summaryList([['Record to merge', recordText(from)]]), keep.el, reason.el, button('Continue')));
  };
  const showConfirm = () => {
    slot.replaceChildren(
      h('h2', { id: 'confirm-title', tabindex: '-1', class: 'govuk-heading-m ehc-focus-target' }, 'Check the merge'),
      summaryList([
        ['Record merged', recordText(from)],
        ['Record kept', recordText(into)],
        ['Cases that move', from.cases.length ? from.cases.map((k) => k.reference).join(', ') : 'None'],
        ['Reason', why],
      ]),
      h('div', { class: 'govuk-warning-text' },
        h('span', { class: 'govuk-warning-text__icon', 'aria-hidden': 'true' }, '!'),
        h('strong', { class: 'govuk-warning-text__text' }, h('span', { class: 'govuk-visually-hidden' }, 'Warning'),
          `Record ${from.id} will be marked merged and found by no search. This cannot be undone here.`)),
      h('form', { novalidate: true, id: 'merge-confirm', onsubmit: async (ev) => {
        ev.preventDefault();
        clearErrors();
        const submit = ev.target.querySelector('button[type=submit]');
        submit.disabled = true;
        try {
          const answer = await api('POST', `/api/v1/children/${from.id}/merge`, { into_child_id: into.id, reason: why });
          const refs = new Map(from.cases.map((k) => [k.id, k.reference]));
          const caseRefs = (answer.case_ids || []).map((cid) => [cid, refs.get(cid) || `Case ${cid}`]);
          navigate(`/app/children/${from.id}/merge`, { replace: true, flash: { merged: { from, into, caseRefs } } });
        } catch (err) {
          submit.disabled = false;
          if (!(err instanceof ApiError)) throw err;
          showApiError(err, {}, 'confirm-merge');
        }
      } },
      h('div', { class: 'govuk-button-group' },
        button('Confirm and merge', { id: 'confirm-merge', class: 'govuk-button govuk-button--warning' }),
        h('button', { type: 'button', class: 'govuk-button govuk-button--secondary', 'data-module': 'govuk-button', onclick: showForm }, 'Change'))));
    slot.querySelector('#confirm-title').focus();
  };
  showForm();
  return { title: `Merge the record of ${fullName(from)}`, body };
}
