/**
 * Pipe one remote command's stdout into another's stdin through this process
 * (the "relayed" data path: the two hosts need not reach each other), counting
 * the bytes. If either side fails, the other is stopped.
 */
import type { ExecResult, RemoteStream } from '../ssh/transport.js';

export interface RelayResult {
  readonly bytes: number;
  readonly producer: ExecResult<undefined>;
  readonly consumer: ExecResult<undefined>;
}

/** At most this many bytes a second through the relay (--bwlimit). */
export interface RelayLimit {
  readonly bytesPerSecond: number;
}

export async function relay(producer: RemoteStream, consumer: RemoteStream, onBytes: (count: number) => void, limit?: RelayLimit): Promise<RelayResult> {
  if (!consumer.stdin) throw new Error('the consuming command was started without stdin');
  const stdin = consumer.stdin;
  let bytes = 0;
  // Drain stderr: the transport keeps it for error messages; an unread pipe would stall.
  producer.stderr.resume();
  consumer.stderr.resume();
  const stopBoth = () => {
    producer.kill();
    consumer.kill();
  };
  // Piped by hand rather than with stream.pipeline, which would destroy the
  // producer's stdout when a consumer stops reading early (docker load ignores
  // tar's trailing padding): the producer is then drained, and the two exit
  // codes decide.
  const started = Date.now();
  const piping = new Promise<void>((resolve, reject) => {
    let consumerGone = false;
    // Paused while the consumer drains, or while the bytes are ahead of the limit; resumed when neither holds.
    let holds = 0;
    const hold = () => {
      if (holds++ === 0) producer.stdout.pause();
    };
    const release = () => {
      if (--holds === 0) producer.stdout.resume();
    };
    stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
        consumerGone = true;
        producer.stdout.resume();
      } else {
        reject(error);
      }
    });
    producer.stdout.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      onBytes(chunk.length);
      if (consumerGone) return;
      if (!stdin.write(chunk)) {
        hold();
        stdin.once('drain', release);
      }
      if (limit) {
        const ahead = (bytes / limit.bytesPerSecond) * 1000 - (Date.now() - started);
        if (ahead > 0) {
          hold();
          setTimeout(release, ahead);
        }
      }
    });
    producer.stdout.once('end', () => {
      if (!consumerGone) stdin.end();
      resolve();
    });
    producer.stdout.once('error', reject);
  }).catch((error: unknown) => {
    stopBoth();
    throw error;
  });
  const producerDone = producer.done.catch((error: unknown) => {
    consumer.kill();
    throw error;
  });
  const consumerDone = consumer.done.catch((error: unknown) => {
    producer.kill();
    throw error;
  });
  const [pipeOutcome, producerOutcome, consumerOutcome] = await Promise.allSettled([piping, producerDone, consumerDone]);
  // The most telling failure first: the command that failed on its own, not the one we stopped.
  if (consumerOutcome.status === 'rejected' && producerOutcome.status === 'fulfilled') throw consumerOutcome.reason;
  if (producerOutcome.status === 'rejected') throw producerOutcome.reason;
  if (consumerOutcome.status === 'rejected') throw consumerOutcome.reason;
  if (pipeOutcome.status === 'rejected') throw pipeOutcome.reason;
  return { bytes, producer: producerOutcome.value, consumer: consumerOutcome.value };
}

