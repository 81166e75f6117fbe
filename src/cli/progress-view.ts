/**
 * Progress of a long operation on stderr. On a terminal, each data path's
 * transfer is one bar redrawn in place; phases and steps scroll above it.
 * Elsewhere (a pipe, a log file, CI) every event is a plain line.
 */
import type { Writable } from 'node:stream';
import type { ProgressEvent, ProgressListener } from '../transfer/progress.js';
import { describeProgress } from './format.js';

const BAR_WIDTH = 24;
const CLEAR_LINE = '\r\u001b[2K';

export function progressView(stream: Writable & { isTTY?: boolean } = process.stderr): ProgressListener {
  if (!stream.isTTY) return (event) => stream.write(`${indent(event)}${describeProgress(event)}\n`);
  let barShown = false;
  return (event) => {
    if (event.type === 'transfer-progress') {
      stream.write(`${CLEAR_LINE}    ${bar(event)} ${describeProgress(event)}`);
      barShown = true;
      return;
    }
    // A finished bar stays on screen; the next line starts below it.
    stream.write(`${barShown ? '\n' : ''}${indent(event)}${describeProgress(event)}\n`);
    barShown = false;
  };
}

function indent(event: ProgressEvent): string {
  return event.type === 'migration-phase' ? '==> ' : '    ';
}

function bar(event: Extract<ProgressEvent, { type: 'transfer-progress' }>): string {
  if (event.bytesTotal === null || event.bytesTotal <= 0) return `[${'?'.repeat(BAR_WIDTH)}]`;
  const fraction = Math.min(1, event.bytesDone / event.bytesTotal);
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}%`;
}
