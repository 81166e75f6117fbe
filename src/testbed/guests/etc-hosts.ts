/**
 * The guests' names on this machine: a marked block in /etc/hosts, written
 * by `up` and removed by `down`, so `delta.vm` works here as inside the guests.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { GUESTS } from './guest-layout.js';

const HOSTS_FILE = '/etc/hosts';
const BEGIN = '# docker-mcp testbed guests: begin (written by "docker-mcp testbed up")';
const END = '# docker-mcp testbed guests: end';

export function withoutGuestBlock(text: string): string {
  const start = text.indexOf(BEGIN);
  if (start < 0) return text;
  const end = text.indexOf(END, start);
  const after = end < 0 ? text.length : end + END.length + (text[end + END.length] === '\n' ? 1 : 0);
  return text.slice(0, start) + text.slice(after);
}

export function withGuestBlock(text: string): string {
  const base = withoutGuestBlock(text);
  const lines = [BEGIN, ...GUESTS.map((guest) => `${guest.address} ${guest.dnsName}`), END];
  return `${base}${base.endsWith('\n') || base === '' ? '' : '\n'}${lines.join('\n')}\n`;
}

/** Returns whether the file changed. Written in place: /etc/hosts may be a bind mount. */
async function rewrite(change: (text: string) => string, file = HOSTS_FILE): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  const next = change(text);
  if (next === text) return false;
  await writeFile(file, next);
  return true;
}

export const addGuestNames = (file?: string) => rewrite(withGuestBlock, file);
export const removeGuestNames = (file?: string) => rewrite(withoutGuestBlock, file);
