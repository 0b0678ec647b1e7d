// Handing an image on: its URL to the clipboard, or its PNG to a file.
import { fetchPng } from './api.js';
import { el, toast } from './dom.js';

/** Put `text` on the clipboard (with the old copy command as fallback). */
export async function copyText(text, done = 'Copied') {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    const field = el('textarea', { class: 'offscreen', readonly: true });
    field.value = text;
    document.body.append(field);
    field.select();
    const copied = document.execCommand('copy');
    field.remove();
    toast(copied ? done : text);   // the URL at least shows, to copy by hand
  }
}

/** Save the PNG at `url` as `name`; the server's error is shown if it fails. */
export async function downloadPng(url, name) {
  try {
    const objectUrl = URL.createObjectURL(await fetchPng(url));
    const link = el('a', { href: objectUrl, download: name, class: 'offscreen' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(objectUrl), 10000);
  } catch (error) {
    toast(`Cannot download: ${error.message}`);
  }
}
