import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { progressView } from '../../src/cli/progress-view.js';
import type { ProgressEvent } from '../../src/transfer/progress.js';

function capture(isTTY: boolean) {
  let text = '';
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    }),
    { isTTY },
  );
  return { stream, text: () => text };
}

const events: ProgressEvent[] = [
  { type: 'migration-phase', phase: 'seed', message: 'seeding 1 data path' },
  { type: 'transfer-progress', service: 'db', bytesDone: 512 * 1024, bytesTotal: 1024 * 1024, bytesPerSecond: 1024 * 1024, etaSeconds: 0.5 },
  { type: 'transfer-progress', service: 'db', bytesDone: 1024 * 1024, bytesTotal: 1024 * 1024, bytesPerSecond: 1024 * 1024, etaSeconds: 0 },
  { type: 'transfer-step', service: 'db', message: 'received' },
];

describe('progress on the CLI', () => {
  it('writes one plain line per event when stderr is not a terminal', () => {
    const out = capture(false);
    const view = progressView(out.stream);
    for (const event of events) view(event);
    expect(out.text()).toBe(
      '==> seed: seeding 1 data path\n' +
        '    db: 512.0 KiB of 1.0 MiB, 1.0 MiB/s, ETA 1 s\n' +
        '    db: 1.0 MiB of 1.0 MiB, 1.0 MiB/s, ETA 0 s\n' +
        '    db: received\n',
    );
  });

  it('redraws one bar in place on a terminal, and keeps it when the next line comes', () => {
    const out = capture(true);
    const view = progressView(out.stream);
    for (const event of events) view(event);
    const text = out.text();
    expect(text).toContain('\r\u001b[2K    [############............]  50% db: 512.0 KiB of 1.0 MiB');
    expect(text).toContain('\r\u001b[2K    [########################] 100% db: 1.0 MiB of 1.0 MiB');
    expect(text.endsWith('ETA 0 s\n    db: received\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(4);
  });
});
