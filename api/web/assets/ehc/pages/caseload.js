// An officer's or manager's caseload: the open cases in their scope (GET /api/v1/cases), soonest
// statutory date first, each with its stage, next statutory date, days left and a red, amber or green
// status written out in words.
import { api, today as getToday } from '../api.js';
import { h, link, table, para } from '../dom.js';
import { dateText, daysBetween, daysLeftText, ragTag, humanise, AMBER_DAYS } from '../format.js';
import { session } from '../main.js';

export async function caseloadPage({ query }) {
  const mine = query.get('mine') === '1';
  const filter = mine ? `?officer_id=${session.me.user.id}` : '';
  const [cases, today] = await Promise.all([api('GET', `/api/v1/cases${filter}`), getToday()]);
  const rows = cases.map((c) => {
    const days = c.next_due_on ? daysBetween(today, c.next_due_on) : null;
    return [
      link(`/app/cases/${c.id}`, c.reference),
      humanise(c.stage),
      c.next_deadline ? [humanise(c.next_deadline), h('br'), h('span', { class: 'govuk-body-s' }, dateText(c.next_due_on))] : 'None open',
      daysLeftText(days),
      ragTag(days),
      c.officer_id === session.me.user.id ? 'You' : c.officer_id ? (c.officer_name || `Officer ${c.officer_id}`) : 'Not allocated',
    ];
  });
  const red = cases.filter((c) => c.next_due_on && daysBetween(today, c.next_due_on) < 0).length;
  const amber = cases.filter((c) => c.next_due_on && daysBetween(today, c.next_due_on) >= 0 && daysBetween(today, c.next_due_on) <= AMBER_DAYS).length;
  return {
    title: 'Caseload',
    body: [
      h('h1', { class: 'govuk-heading-l' }, 'Caseload'),
      para(`Today is ${dateText(today)}. ${cases.length} open ${cases.length === 1 ? 'case' : 'cases'}: ${red} overdue, ${amber} due within ${AMBER_DAYS} days.`),
      para(mine ? link('/app/cases', 'Show all the cases you can see') : link('/app/cases?mine=1', 'Show only the cases allocated to you')),
      cases.length
        ? table(mine ? 'Cases allocated to you' : 'Open cases, soonest statutory date first', ['Case', 'Stage', 'Next statutory date', 'Days left', 'Status', 'Officer'], rows, { id: 'caseload' })
        : para('There are no open cases here.'),
      cases.length ? para(link(`/api/v1/cases${filter ? `${filter}&` : '?'}format=csv`, 'Download these cases (CSV)')) : null,
      session.has('officer', 'manager', 'service_manager') && para(link('/app/cases/new', 'Open a case from a new request')),
    ],
  };
}
