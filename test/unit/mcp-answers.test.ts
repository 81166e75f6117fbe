/** What MCP answers look like on the wire: snake_case field names, data left alone, pages, log lines, MCP words. */
import { describe, expect, it } from 'vitest';
import { allHostsAnswer, eachHostAnswer, logLines, page } from '../../src/mcp/tools/answers.js';
import { inMcpWords } from '../../src/mcp/surface-words.js';
import { snakeCase, toWire, wireText } from '../../src/mcp/wire.js';

describe('field names on the wire', () => {
  it('are snake_case, acronyms included', () => {
    expect(['roundTripMs', 'projectDir', 'hostId', 'IPAddress', 'ServerVersion', 'host_id', 'ok', 'zfs'].map(snakeCase)).toEqual([
      'round_trip_ms',
      'project_dir',
      'host_id',
      'ip_address',
      'server_version',
      'host_id',
      'ok',
      'zfs',
    ]);
  });

  it('leave out fields without a value, and leave data alone: label and variable names, ports, dotted keys', () => {
    const wire = toWire({
      hostId: 'alpha',
      labels: { 'com.example.Team': 'x', camelLabel: 'y' },
      environment: { TZ: 'UTC', myVar: '1' },
      ports: { '80/tcp': [{ HostPort: '8080' }] },
      nested: [{ exitCode: 0, skipped: undefined, health: null }],
    });
    expect(wire).toEqual({
      host_id: 'alpha',
      labels: { 'com.example.Team': 'x', camelLabel: 'y' },
      environment: { TZ: 'UTC', myVar: '1' },
      ports: { '80/tcp': [{ host_port: '8080' }] },
      nested: [{ exit_code: 0 }],
    });
  });

  it('are sent as compact JSON', () => {
    expect(wireText({ a: [1, { b: 2 }] })).toBe('{"a":[1,{"b":2}]}');
  });
});

describe('answers every tool shares', () => {
  const rows = [
    { hostId: 'alpha', ok: true as const, value: [{ name: 'a1' }, { name: 'a2' }] },
    { hostId: 'beta', ok: false as const, error: { kind: 'unreachable' as const, message: 'ssh: connection refused' } },
    { hostId: 'gamma', ok: true as const, value: [{ name: 'g1' }] },
  ];

  it('from several hosts: one list, each row with its host, and the hosts that failed beside it', () => {
    expect(allHostsAnswer(rows)).toEqual({
      items: [
        { host_id: 'alpha', name: 'a1' },
        { host_id: 'alpha', name: 'a2' },
        { host_id: 'gamma', name: 'g1' },
      ],
      host_errors: [{ host_id: 'beta', kind: 'unreachable', error: 'ssh: connection refused' }],
    });
    expect(eachHostAnswer([{ hostId: 'alpha', ok: true as const, value: { ssh: 'ok' } }])).toEqual({ hosts: [{ host_id: 'alpha', ssh: 'ok' }], host_errors: [] });
  });

  it('pages a list as the Python tool did', () => {
    const items = ['a', 'b', 'c', 'd', 'e'];
    expect(page('containers', items, { limit: 2, offset: 2 })).toEqual({
      containers: ['c', 'd'],
      pagination: { total: 5, limit: 2, offset: 2, returned: 2, has_next: true, has_prev: true },
    });
    expect(page('stacks', items, { limit: 10, offset: 0 }).pagination).toMatchObject({ returned: 5, has_next: false, has_prev: false });
  });

  it('gives logs as lines, without an empty last one', () => {
    expect(logLines('one\ntwo\n')).toEqual(['one', 'two']);
    expect(logLines('')).toEqual([]);
    expect(logLines('no newline')).toEqual(['no newline']);
  });
});

describe('engine advice over MCP', () => {
  it('names the tool parameters, not the CLI flags', () => {
    expect(inMcpWords('container web on alpha is running: stop it first, or add --force')).toBe('container web on alpha is running: stop it first, or add force: true');
    expect(inMcpWords('--force does not apply; repeat with --yes, or --dry-run first; see docker-mcp migrate --resume ID')).toBe(
      'force: true does not apply; repeat with confirm: true, or dry_run: true first; see migrate with resume ID',
    );
    expect(inMcpWords('compose up --force-recreate')).toBe('compose up --force-recreate');
  });
});
