/**
 * An ssh ProxyCommand that plays the controller's home link: it connects to
 * HOST:PORT from a loopback address of its own (so `tc` can put this traffic
 * in the slow class) and delays every chunk by DELAY_MS in each direction.
 * The kernel here has no netem (`tc qdisc add ... netem` answers "Specified
 * qdisc kind is unknown"), so latency is added here and the rate by tc.
 *
 *   node dist/bench/delay-link.js BIND_ADDRESS DELAY_MS HOST PORT
 */
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';

function forwardDelayed(from: Readable, to: Writable, delayMs: number): void {
  from.on('data', (chunk: Buffer) => {
    // Timers of one duration fire in the order they were set: bytes stay in order.
    setTimeout(() => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    }, delayMs);
  });
  from.on('end', () => setTimeout(() => to.end(), delayMs + 1));
}

function main(argv: readonly string[]): void {
  const [bindAddress, delayText, host, portText] = argv;
  const delayMs = Number(delayText);
  const port = Number(portText);
  if (!bindAddress || !host || !Number.isInteger(port) || !(delayMs >= 0)) {
    process.stderr.write('usage: delay-link BIND_ADDRESS DELAY_MS HOST PORT\n');
    process.exit(2);
  }
  const socket = net.connect({ host, port, localAddress: bindAddress });
  socket.setNoDelay(true);
  socket.on('error', (error) => {
    process.stderr.write(`delay-link: ${error.message}\n`);
    process.exit(1);
  });
  socket.on('close', () => process.exit(0));
  socket.on('connect', () => {
    forwardDelayed(process.stdin, socket, delayMs);
    forwardDelayed(socket, process.stdout, delayMs);
  });
}

main(process.argv.slice(2));
