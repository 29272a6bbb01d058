// Dates, days left and red/amber/green status as words (never colour alone), and readable labels
// for the workflow's ids.
import { tag } from './dom.js';

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

export function dateText(iso) {
  if (!iso) return '';
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso);
  if (!m) return iso;
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}`;
}

export function daysBetween(fromIso, toIso) {
  const a = Date.UTC(...fromIso.split('-').map((x, i) => Number(x) - (i === 1 ? 1 : 0)));
  const b = Date.UTC(...toIso.split('-').map((x, i) => Number(x) - (i === 1 ? 1 : 0)));
  return Math.round((b - a) / 86400000);
}

export function daysLeftText(days) {
  if (days === null || days === undefined) return '';
  if (days < 0) return `${-days} ${-days === 1 ? 'day' : 'days'} overdue`;
  if (days === 0) return 'Due today';
  return `${days} ${days === 1 ? 'day' : 'days'}`;
}

// Red: overdue. Amber: due within 10 days. Green: on track.
export const AMBER_DAYS = 10;
export function ragTag(days) {
  if (days === null || days === undefined) return tag('No date open', 'grey');
  if (days < 0) return tag('Red: overdue', 'red');
  if (days <= AMBER_DAYS) return tag('Amber: due soon', 'yellow');
  return tag('Green: on track', 'green');
}

// "school_or_college" -> "School or college"; "icb" -> "ICB"
const WORDS = { icb: 'ICB', nhs: 'NHS', ep: 'EP', dco: 'DCO', sen2: 'SEN2', upn: 'UPN', la: 'LA' };
export function humanise(id) {
  if (id === undefined || id === null) return '';
  const s = String(id).split(/[_-]+/).map((w) => WORDS[w] || w).join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function statusTag(status, exceptionApplies) {
  const colours = { open: 'blue', met: 'green', met_late: 'orange', overdue: 'red', cancelled: 'grey', exception_applies: 'purple' };
  const words = { open: 'Open', met: 'Met', met_late: 'Met late', overdue: 'Overdue', cancelled: 'Cancelled', exception_applies: 'Exception applies' };
  const s = exceptionApplies && status === 'open' ? 'exception_applies' : status;
  return tag(words[s] || humanise(s), colours[s]);
}

export function levelText(level) {
  const m = /^upcoming_(\d+)$/.exec(level || '');
  if (m) return `Due in ${m[1]} working days`;
  return { due: 'Due today', overdue: 'Overdue', escalated: 'Escalated' }[level] || humanise(level);
}

export function levelTag(level) {
  const colour = level === 'overdue' || level === 'escalated' ? 'red' : level === 'due' ? 'orange' : 'yellow';
  return tag(levelText(level), colour);
}
