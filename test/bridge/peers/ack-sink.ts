// Minimal /bridge endpoint for the benchmark: answers the challenge/hello and acks every batch at once, so the bridge's
// own cost (sign + persist + send) is measured apart from the server's ingest. Never used for correctness tests.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Server } from 'socket.io';

const http = createServer();
const io = new Server(http, { maxHttpBufferSize: 16e6 });
let received = 0;
io.of('/bridge').on('connection', (socket) => {
  socket.emit('challenge', { challenge: '0x' + randomBytes(32).toString('hex') });
  socket.on('hello', (_h: unknown, ack: (a: unknown) => void) => ack({ ok: true }));
  socket.on('status', (_s: unknown, ack: (a: unknown) => void) => ack({ ok: true }));
  socket.on('readings', (batch: { readings: Array<{ seq: number }> }, ack: (a: unknown) => void) => {
    received += batch.readings.length;
    ack({ ok: true, result: { accepted: batch.readings.length, duplicates: 0, lastSeq: batch.readings[batch.readings.length - 1].seq } });
  });
});
http.listen(0, '127.0.0.1', () => {
  const port = (http.address() as { port: number }).port;
  process.stdout.write(JSON.stringify({ event: 'ready', port }) + '\n');
});
process.on('SIGTERM', () => {
  process.stdout.write(JSON.stringify({ event: 'received', received }) + '\n');
  process.exit(0);
});
