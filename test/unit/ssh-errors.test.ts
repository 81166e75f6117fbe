import { describe, expect, it } from 'vitest';
import {
  AuthenticationFailedError,
  HostKeyMismatchError,
  HostUnreachableError,
  classifySshFailure,
} from '../../src/ssh/errors.js';
import { sshArguments } from '../../src/ssh/options.js';
import { sshArgvFromSource } from '../../src/transfer/source-to-target-ssh.js';

describe('classifying ssh failures', () => {
  it('tells unreachable, refused key and changed host key apart', () => {
    expect(classifySshFailure('a', 255, 'ssh: connect to host 127.0.0.99 port 22: Connection refused\r\n')).toBeInstanceOf(HostUnreachableError);
    expect(classifySshFailure('a', 255, 'root@127.0.0.11: Permission denied (publickey).\r\n')).toBeInstanceOf(AuthenticationFailedError);
    const changed = classifySshFailure('a', 255, '@@@@@\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.\n');
    expect(changed).toBeInstanceOf(HostKeyMismatchError);
    expect((changed as HostKeyMismatchError).reason).toBe('changed');
    const unknown = classifySshFailure('a', 255, 'No ED25519 host key is known for 127.0.0.11 and you have requested strict checking.\nHost key verification failed.\n');
    expect((unknown as HostKeyMismatchError).reason).toBe('unknown');
  });

  it('leaves a remote command that exits 255 or non-zero to the caller', () => {
    expect(classifySshFailure('a', 255, 'my script failed\n')).toBeUndefined();
    expect(classifySshFailure('a', 1, 'Permission denied (publickey)')).toBeUndefined();
  });
});

describe('ssh arguments', () => {
  it('checks host keys strictly and never turns checking off', () => {
    const args = sshArguments({ id: 'a', hostname: 'nas', user: 'root', port: 22, identity_file: null, known_hosts_file: null });
    expect(args).toContain('StrictHostKeyChecking=yes');
    expect(args.join(' ')).not.toMatch(/StrictHostKeyChecking=no/);
    expect(args.slice(-2)).toEqual(['--', 'nas']);
  });

  it('uses the host identity file alone and its own known_hosts when given', () => {
    const args = sshArguments({ id: 'a', hostname: 'nas', user: 'me', port: 2222, identity_file: '/k', known_hosts_file: '/kh' });
    expect(args).toEqual(expect.arrayContaining(['-i', '/k', 'IdentitiesOnly=yes', 'UserKnownHostsFile=/kh', '-p', '2222', '-l', 'me']));
  });

  it('never forwards the agent or X11 to a host, on the controller or from the source to the target', () => {
    const host = { id: 'a', hostname: 'nas', user: 'root', port: 22, identity_file: null, known_hosts_file: null };
    for (const args of [sshArguments(host), sshArgvFromSource({ ...host, description: '', tags: [], zfs_capable: false, enabled: true, sudo: false })]) {
      expect(args.join(' ')).toContain('-o ForwardAgent=no -o ForwardX11=no');
    }
  });
});
