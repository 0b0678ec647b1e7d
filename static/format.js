// Display formats for DICOM values (PS3.5 6.2: PN, DA, TM).

/** "DOE^JOHN^A^DR" -> "DOE, JOHN A DR"; anything else is kept as it is. */
export function personName(value) {
  const [family = '', ...rest] = String(value || '').split('^').map((part) => part.trim());
  const given = rest.filter(Boolean).join(' ');
  if (!family && !given) return '';
  return family && given ? `${family}, ${given}` : family || given;
}

/** "20040119" -> "2004-01-19" (other values unchanged). */
export function date(value) {
  const text = String(value || '').trim();
  return /^\d{8}$/.test(text) ? `${text.slice(0, 4)}-${text.slice(4, 6)}-${text.slice(6)}` : text;
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
