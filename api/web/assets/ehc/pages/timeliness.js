// Timeliness charts for managers, from GET /api/v1/reports/timeliness: final plans issued within 20
// weeks by month, including and excluding the cases where an exception applied (Reg 13(2)); decisions
// whether to assess within 6 weeks by month (Reg 5(1)); advice returned within 6 weeks by adviser type
// (Reg 8(1)). Charts are drawn by Chart.js (npm, vendored under /assets/chartjs/); each chart has a
// table beneath it with the same figures, and the canvas itself is described as an image that points
// to that table. A period selector (from, to) reloads the page with the period in its address.
import { api } from '../api.js';
import { h, table, para, button, link } from '../dom.js';
import { dateText, humanise } from '../format.js';
import { dateQuestion, readQuestions, showErrors } from '../forms.js';
import { navigate } from '../main.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const COLOURS = ['#1d70b8', '#f47738', '#00703c', '#4c2c92'];

let chartLib = null;
async function loadChart() {
  if (!chartLib) {
    // the UMD bundle sets globalThis.Chart when it runs as a module
    chartLib = import('/assets/chartjs/chart.umd.min.js').then(() => {
      const { Chart } = globalThis;
      // the page's typeface and text colour, so that labels are as legible as the text around them
      Chart.defaults.font.family = 'arial, sans-serif';
      Chart.defaults.font.size = 14;
      Chart.defaults.color = '#0b0c0c';
      return Chart;
    });
  }
  return chartLib;
}

function monthText(ym) {
  const [y, m] = ym.split('-');
  return `${MONTHS[Number(m) - 1]} ${y}`;
}

// Every month from `from` to `to`, so that a month with nothing done shows as nothing, not as missing.
function monthsOf(from, to) {
  const out = [];
  let [y, m] = from.split('-').map(Number);
  const [ty, tm] = to.split('-').map(Number);
  while (y < ty || (y === ty && m <= tm)) {
    out.push(`${y}-${String(m).padStart(2, '0')}`);
    if (++m > 12) { m = 1; y++; }
  }
  return out;
}

const pct = (v) => (v === null || v === undefined ? null : Number(v));
const pctText = (v) => (v === null || v === undefined ? 'No figure: none to count' : `${Number(v).toFixed(1)}%`);

// A chart and, beneath it, the table with the same figures. series: [{label, values}] (percentages,
// null where nothing was done), one value per category.
function chartFigure({ id, title, categories, series, tableHead, tableRows, description }) {
  const canvas = h('canvas', { id: `${id}-chart`, role: 'img', 'aria-label': `${title}: a bar chart. ${description} The same figures are in the table below it.` });
  const figure = h('section', { class: 'govuk-!-margin-bottom-9', id, 'aria-labelledby': `${id}-title` },
    h('h2', { class: 'govuk-heading-m', id: `${id}-title` }, title),
    para(description),
    h('div', { class: 'ehc-chart' }, canvas),
    table(`${title}: the figures`, tableHead, tableRows, { id: `${id}-table`, numeric: tableHead.map((_, i) => i).slice(1), captionSize: 's', rowHeaders: true }));
  return {
    figure,
    draw: (Chart) => new Chart(canvas, {
      type: 'bar',
      data: {
        labels: categories,
        datasets: series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: COLOURS[i % COLOURS.length] })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: 'Per cent on time' } } },
        plugins: { legend: { display: series.length > 1 } },
      },
    }),
  };
}

export async function timelinessPage({ query }) {
  const params = new URLSearchParams();
  for (const k of ['from', 'to']) if (/^\d{4}-\d{2}-\d{2}$/.test(query.get(k) || '')) params.set(k, query.get(k));
  const qs = params.toString();
  const [byMonth, byAuthority, Chart] = await Promise.all([
    api('GET', `/api/v1/reports/timeliness?by=month${qs ? `&${qs}` : ''}`),
    api('GET', `/api/v1/reports/timeliness?by=authority${qs ? `&${qs}` : ''}`),
    loadChart(),
  ]);
  const months = monthsOf(byMonth.from, byMonth.to);
  const monthRow = (measure, m) => byMonth.rows.find((r) => r.measure === measure && r.group?.month === m);

  // plans within 20 weeks, with and without exceptions
  const plans = chartFigure({
    id: 'plans-20-weeks',
    title: 'Final plans issued within 20 weeks, by month',
    description: 'The share of final EHC plans issued within 20 weeks of the request (Regulation 13(2)), with all plans, and leaving out those where an exception to the time limit applied.',
    categories: months.map(monthText),
    series: [
      { label: 'Including exceptions', values: months.map((m) => pct(monthRow('plan_20_weeks', m)?.on_time_percent)) },
      { label: 'Excluding exceptions', values: months.map((m) => pct(monthRow('plan_20_weeks', m)?.on_time_percent_excluding_exceptions)) },
    ],
    tableHead: ['Month', 'Plans issued', 'Within 20 weeks', 'Per cent, including exceptions', 'Plans without an exception', 'Within 20 weeks, excluding exceptions', 'Per cent, excluding exceptions'],
    tableRows: months.map((m) => {
      const r = monthRow('plan_20_weeks', m);
      return [monthText(m), String(r?.total ?? 0), String(r?.on_time ?? 0), pctText(r?.on_time_percent),
        String(r?.total_excluding_exceptions ?? 0), String(r?.on_time_excluding_exceptions ?? 0), pctText(r?.on_time_percent_excluding_exceptions)];
    }),
  });

  const decisions = chartFigure({
    id: 'decisions-6-weeks',
    title: 'Decisions whether to assess within 6 weeks, by month',
    description: 'The share of decisions whether to carry out an EHC needs assessment made within 6 weeks of the request (Regulation 5(1)).',
    categories: months.map(monthText),
    series: [{ label: 'Within 6 weeks', values: months.map((m) => pct(monthRow('decision_6_weeks', m)?.on_time_percent)) }],
    tableHead: ['Month', 'Decisions', 'Within 6 weeks', 'Per cent'],
    tableRows: months.map((m) => {
      const r = monthRow('decision_6_weeks', m);
      return [monthText(m), String(r?.total ?? 0), String(r?.on_time ?? 0), pctText(r?.on_time_percent)];
    }),
  });

  // advice by adviser type: the report gives one row per adviser type and service; added up by type
  const byType = new Map();
  for (const r of byAuthority.rows.filter((x) => x.measure === 'advice_6_weeks_by_adviser')) {
    const t = r.adviser_type || 'not_recorded';
    const acc = byType.get(t) || { total: 0, on_time: 0 };
    acc.total += r.total;
    acc.on_time += r.on_time;
    byType.set(t, acc);
  }
  const types = [...byType.keys()].sort();
  const percent = (a) => (a.total ? Math.round((1000 * a.on_time) / a.total) / 10 : null);
  const advice = chartFigure({
    id: 'advice-6-weeks',
    title: 'Advice returned within 6 weeks, by adviser type',
    description: 'The share of advice and information returned within 6 weeks of the request to the adviser (Regulation 8(1)).',
    categories: types.map(humanise),
    series: [{ label: 'Within 6 weeks', values: types.map((t) => percent(byType.get(t))) }],
    tableHead: ['Adviser type', 'Advice returned', 'Within 6 weeks', 'Per cent'],
    tableRows: types.map((t) => [humanise(t), String(byType.get(t).total), String(byType.get(t).on_time), pctText(percent(byType.get(t)))]),
  });

  // the period selector
  const questions = {
    from: dateQuestion('period-from', 'From', { value: byMonth.from }),
    to: dateQuestion('period-to', 'To', { value: byMonth.to }),
  };
  const form = h('form', { novalidate: true, id: 'period', onsubmit: (ev) => {
    ev.preventDefault();
    const { values, errors } = readQuestions(questions);
    if (!values.from) errors.push({ text: 'Enter the first day of the period', focusId: questions.from.focusId });
    if (!values.to) errors.push({ text: 'Enter the last day of the period', focusId: questions.to.focusId });
    if (!errors.length && values.from > values.to) errors.push({ text: 'The period must end on or after the day it starts', focusId: questions.to.focusId });
    if (errors.length) return showErrors(errors);
    navigate(`/app/reports/timeliness?from=${values.from}&to=${values.to}`);
  } },
  h('fieldset', { class: 'govuk-fieldset' },
    h('legend', { class: 'govuk-fieldset__legend govuk-fieldset__legend--m' }, h('h2', { class: 'govuk-fieldset__heading' }, 'Period')),
    questions.from.el, questions.to.el),
  button('Show this period', { class: 'govuk-button govuk-button--secondary' }));

  const figures = [plans, decisions, advice];
  const body = [
    h('h1', { class: 'govuk-heading-l' }, 'Timeliness'),
    para(`Acts done from ${dateText(byMonth.from)} to ${dateText(byMonth.to)}, counted as the Department for Education derives them for SEN2. `,
      link(`/api/v1/reports/timeliness?by=month&format=csv${qs ? `&${qs}` : ''}`, 'Download the monthly figures (CSV)')),
    form,
    figures.map((f) => f.figure),
  ];
  // drawn once the canvases are in the page (Chart.js measures their container)
  queueMicrotask(() => requestAnimationFrame(() => {
    for (const f of figures) {
      const canvas = f.figure.querySelector('canvas');
      if (canvas.isConnected) f.draw(Chart);
    }
  }));
  return { title: 'Timeliness', body };
}
