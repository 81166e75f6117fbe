/**
 * known_hosts lines and fingerprints as OpenSSH writes and prints them: the
 * fingerprint a user compares must be the one `ssh-keygen -l` shows for the
 * same key, and a line must vouch for one host only.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf, knownHostsHolds, knownHostsLines, knownHostsName, parseKeyscan } from '../../src/ssh/known-hosts.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'known-hosts-unit-'));
let made = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh key, its public line and the fingerprint ssh-keygen prints for it. */
function freshKey(type: 'ed25519' | 'ecdsa' | 'rsa') {
  const file = path.join(dir, `key-${type}-${(made += 1)}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
  const [keyType, key] = readFileSync(`${file}.pub`, 'utf8').trim().split(' ') as [string, string];
  const printed = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1] as string;
  return { keyType, key, printed };
}

describe('host keys as ssh-keyscan prints them', () => {
  it('reads each key once with the fingerprint ssh-keygen prints for it; comments and blank lines are passed over', () => {
    const keys = (['ed25519', 'ecdsa', 'rsa'] as const).map(freshKey);
    const output = ['# 127.0.0.11:2222 SSH-2.0-OpenSSH_9.2p1', ...keys.map((k) => `[127.0.0.11]:2222 ${k.keyType} ${k.key}`), '', `[127.0.0.11]:2222 ${keys[0]!.keyType} ${keys[0]!.key}`].join('\n');
    expect(parseKeyscan(output)).toEqual(keys.map((k) => ({ type: k.keyType, key: k.key, fingerprint: k.printed })));
    expect(fingerprintOf(keys[1]!.key)).toBe(keys[1]!.printed);
  });

  it('takes nothing from output that holds no key, nor a blob that is not the type the line names', () => {
    expect(parseKeyscan('')).toEqual([]);
    const { key } = freshKey('ed25519');
    expect(parseKeyscan(`nas ssh-rsa ${key}\nnas ssh-ed25519 ${key} trailing\n`)).toEqual([]);
    expect(parseKeyscan('# 127.0.0.99:22 SSH-2.0-OpenSSH_9.2p1\nssh: connect to host 127.0.0.99 port 22: Connection refused\n')).toEqual([]);
  });
});

describe('known_hosts names and lines', () => {
  it('names the host as ssh looks it up: plain on port 22, [name]:port elsewhere', () => {
    expect(knownHostsName('127.0.0.11', 22)).toBe('127.0.0.11');
    expect(knownHostsName('nas.lan', 2222)).toBe('[nas.lan]:2222');
    const { keyType, key, printed } = freshKey('ed25519');
    expect(knownHostsLines('[nas.lan]:2222', [{ type: keyType, key, fingerprint: printed }])).toEqual([`[nas.lan]:2222 ${keyType} ${key}`]);
  });

  it('refuses a name that would vouch for other hosts too (a pattern or a list) or read as an option', () => {
    for (const name of ['*', 'nas.*', 'a,b', '!nas', 'nas?', '-oProxyCommand=x', '[nas]:22', 'a b', '']) {
      expect(() => knownHostsName(name, 22), name).toThrow(/plain name or address/);
    }
  });

  it('knows a key it holds for the name already, plainly, in a list or hashed as ssh-keygen -H writes it; not for another name or key', () => {
    const { keyType, key } = freshKey('ed25519');
    const other = freshKey('ed25519');
    const line = `[nas.lan]:2222 ${keyType} ${key}`;
    const file = path.join(dir, `known_hosts-${(made += 1)}`);
    writeFileSync(file, `${line}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const hashed = readFileSync(file, 'utf8');
    expect(hashed).toMatch(/^\|1\|/);
    for (const text of [`${line}\n`, `nas,[nas.lan]:2222 ${keyType} ${key}\n`, hashed]) expect(knownHostsHolds(text, line), text).toBe(true);
    for (const text of ['', `[nas.lan]:2222 ${other.keyType} ${other.key}\n`, `nas.lan ${keyType} ${key}\n`, `@revoked [nas.lan]:2222 ${keyType} ${key}\n`]) expect(knownHostsHolds(text, line), text).toBe(false);
    expect(knownHostsHolds(hashed, `[nas.lan]:2223 ${keyType} ${key}`)).toBe(false);
  });
});
