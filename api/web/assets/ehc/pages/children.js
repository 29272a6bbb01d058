// Finding a child (GET /api/v1/children): by surname and date of birth, by NHS number or by UPN, within
// the user's authorities, each child linking to their cases. What was searched for stays in the page,
// never in its address (an address ends up in histories and logs).
import { api, ApiError } from '../api.js';
import { h, table, para, button, link, clear, append } from '../dom.js';
import { dateText, humanise } from '../format.js';
import { textQuestion, dateQuestion, readQuestions, showErrors, showApiError, clearErrors } from '../forms.js';

function results(children) {
  if (!children.length) return [h('h2', { class: 'govuk-heading-m', id: 'results-title' }, 'No child found'), para('No child of your authorities matches all of what you entered. Check the spelling and the date of birth, or search by NHS number or UPN.')];
  return table(`${children.length} ${children.length === 1 ? 'child' : 'children'} found`, ['Name', 'Date of birth', 'NHS number', 'UPN', 'Cases'], children.map((c) => [
    `${c.forename || ''} ${c.surname || ''}`.trim(),
    dateText(c.date_of_birth),
    c.nhs_number || '',
    c.upn || '',
    c.cases.length
      ? h('ul', { class: 'govuk-list' }, c.cases.map((k) => h('li', {}, link(`/app/cases/${k.id}`, k.reference), ` (${humanise(k.stage)}${k.status !== 'open' ? `, ${humanise(k.status)}` : ''})`)))
      : 'No cases',
  ]), { id: 'children', rowHeaders: true });
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
