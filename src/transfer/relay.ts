/**
 * Pipe one remote command's stdout into another's stdin through this process
 * (the "relayed" data path: the two hosts need not reach each other), counting
 * the bytes. If either side fails, the other is stopped.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExecResult, RemoteStream } from '../ssh/transport.js';

export interface RelayResult {
  readonly bytes: number;
  readonly producer: ExecResult<undefined>;
  readonly consumer: ExecResult<undefined>;
}

export async function relay(producer: RemoteStream, consumer: RemoteStream, onBytes: (count: number) => void): Promise<RelayResult> {
  if (!consumer.stdin) throw new Error('the consuming command was started without stdin');
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onBytes(chunk.length);
      callback(null, chunk);
    },
  });
  // Drain stderr: the transport keeps it for error messages; an unread pipe would stall.
  producer.stderr.resume();
  consumer.stderr.resume();
  const stopBoth = () => {
    producer.kill();
    consumer.kill();
  };
  const piping = pipeline(producer.stdout, counter, consumer.stdin).catch((error: unknown) => {
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
