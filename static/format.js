// Display formats for DICOM values (PS3.5 6.2: PN, DA, TM).

/** "DOE^JOHN^A^DR" -> "DOE, JOHN A DR"; anything else is kept as it is. */
export function personName(value) {
  const [family = '', ...rest] = String(value || '').split('^').map((part) => part.trim());
  const given = rest.filter(Boolean).join(' ');
  if (!family && !given) return '';
  return family && given ? `${family}, ${given}` : family || given;
}

/** What an invalid date is shown with, after its stored text: a screen reader and a test read it alike. */
export const INVALID_DATE = '(invalid date)';

/** Days in `month` (1-12) of `year`, Gregorian. */
function daysIn(year, month) {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * A DA value as YYYY-MM-DD, or null when it is not a date.  PS3.5 6.2: DA is
 * YYYYMMDD; YYYY.MM.DD is the form of ACR-NEMA 300, which PS3.5 6.2 notes and
 * older files still hold.  Either must be a real calendar date (20231332 is
 * not; the same rule as previewer/objects/dates.py).
 */
export function isoDate(value) {
  const match = /^(\d{4})(?:(\d{2})(\d{2})|\.(\d{2})\.(\d{2}))$/.exec(String(value ?? '').trim());
  if (!match) return null;
  const year = Number(match[1]);
  const month = Number(match[2] ?? match[4]);
  const day = Number(match[3] ?? match[5]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  return `${match[1]}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/**
 * The one date formatter: "20040119" and "2004.01.19" -> "2004-01-19"; an
 * empty value -> ""; anything else as stored, marked: "2023.13.32 (invalid date)".
 */
export function date(value) {
  const text = String(value ?? '').trim();
  if (!text) return '';
  return isoDate(text) ?? `${text} ${INVALID_DATE}`;
}

/** "072730.123" -> "07:27" (other values unchanged). */
export function time(value) {
  const text = String(value || '').trim();
  return /^\d{4}/.test(text) ? `${text.slice(0, 2)}:${text.slice(2, 4)}` : text;
}

/** A window value: integers for wide windows, three significant digits otherwise. */
export function level(value) {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 || Number.isInteger(value) ? String(Math.round(value)) : String(Number(value.toPrecision(3)));
}
