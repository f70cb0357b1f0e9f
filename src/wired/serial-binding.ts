import { read } from 'node:fs';
import { promisify } from 'node:util';
import { autoDetect, BindingsError, type BindingInterface, type BindingPortInterface } from '@serialport/bindings-cpp';

const readAsync = promisify(read);

/** What the Linux and macOS port bindings have and the Windows one has not. */
type UnixPortBinding = BindingPortInterface & {
  fd: number | null;
  poller: { once(event: 'readable', callback: (err: Error | null) => void): unknown };
};

function isUnixPort(port: BindingPortInterface): port is UnixPortBinding {
  return 'fd' in port && 'poller' in port;
}

/** The stream closes the port on any read error not marked `canceled`, and reports it as a disconnect. */
class HangupError extends Error {
  readonly disconnect = true;
  readonly code = 'EIO';
}

async function readUntilHangup(port: UnixPortBinding, buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw new BindingsError('Port is not open', { canceled: true });
    try {
      const { bytesRead } = await readAsync(port.fd, buffer, offset, length, null);
      if (bytesRead === 0) throw new HangupError('the other end hung up');
      return { buffer, bytesRead };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw err;
      if (!port.isOpen) throw new BindingsError('Port is not open', { canceled: true });
      await new Promise<void>((resolve, reject) => port.poller.once('readable', (e) => (e ? reject(e) : resolve())));
    }
  }
}

/**
 * The platform's serialport binding, with one fix: on Linux and macOS, a tty whose other end hung
 * up (a socat pty pair torn down, a modem dropping carrier) reads 0 bytes forever, and
 * @serialport/bindings-cpp 13 retries that read in a tight loop without ever reporting it (100 % of
 * a core, the port never seen as lost). Here end-of-file is a disconnect, which the stream turns
 * into a `close` event carrying the error. Everything else is the stock binding.
 */
export function hangupAwareBinding(base: BindingInterface = autoDetect()): BindingInterface {
  return {
    list: () => base.list(),
    async open(options) {
      const port = await base.open(options);
      if (isUnixPort(port)) port.read = (buffer, offset, length) => readUntilHangup(port, buffer, offset, length);
      return port;
    },
  };
}
