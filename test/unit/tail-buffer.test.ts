import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { boundedLog } from '../../src/docker/log-output.js';
import { TailBuffer } from '../../src/ssh/tail-buffer.js';

describe('keeping the end of an output of unknown size', () => {
  it('keeps exactly the last limit bytes, says whether it cut, and never holds more than limit plus one chunk', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 40 }), fc.integer({ min: 1, max: 200 }), (chunks, limit) => {
        const buffer = new TailBuffer(limit);
        let largest = 0;
        for (const chunk of chunks) {
          buffer.push(Buffer.from(chunk));
          largest = Math.max(largest, chunk.length);
          expect(buffer.result().bytes.length).toBeLessThanOrEqual(limit);
          expect((buffer as unknown as { held: number }).held).toBeLessThanOrEqual(limit + largest);
        }
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        const { bytes, truncated } = buffer.result();
        expect(bytes.equals(all.subarray(Math.max(0, all.length - limit)))).toBe(true);
        expect(truncated).toBe(all.length > limit);
      }),
      { numRuns: 2000 },
    );
  });

  it('a cut log starts at a whole line and carries a note; an uncut one is left alone', () => {
    expect(boundedLog('rtial\nwhole 1\nwhole 2\n', true)).toMatchObject({ text: 'whole 1\nwhole 2\n', truncated: true, note: expect.stringMatching(/last 4 MiB/) });
    expect(boundedLog('a\nb\n', false)).toEqual({ text: 'a\nb\n', truncated: false });
  });
});
