/**
 * One socket write per burst of frames. ws writes every message as its own `writev` (it
 * corks the TCP stream around each frame's header and payload), and an answer is several
 * messages sent in one tick: `tool.result` with `hold.updated`, say, or a Realtime
 * function output with its `response.create`. Measured in the floors profile, those
 * syscalls were the broker's largest single cost per tool call. Corking the stream until
 * the tick ends sends the burst in one `writev`, in the same order, as separate messages.
 */
import type { Duplex } from 'node:stream';
import type WebSocket from 'ws';

const corked = new WeakSet<Duplex>();

/**
 * Holds `socket`'s writes until the current tick ends. ws keeps its TCP stream as `_socket`
 * and has no public way to batch writes; a socket not connected yet (or gone) is left as it is.
 */
export function corkUntilTickEnds(socket: WebSocket): void {
  const stream = (socket as unknown as { _socket?: Duplex | null })._socket;
  if (!stream || stream.destroyed || corked.has(stream)) return;
  corked.add(stream);
  stream.cork();
  process.nextTick(() => {
    corked.delete(stream);
    stream.uncork();
  });
}
