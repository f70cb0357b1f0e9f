import { XMLParser } from 'fast-xml-parser';
import { SADP_DATAGRAM_LIMITS, SADP_MULTICAST_ADDRESS, SADP_PORT, screenSadpDatagram } from '../../protocol/index.js';
import { sadpProbeMatchXml, type SadpIdentity } from './sadp-probe-match-xml.js';
import { createBenchMulticastSocket, type BenchLan, type BenchMulticastRecord } from './wired-multicast-socket.js';

/**
 * The bench's Hikvision-style devices answering SADP (DESIGN §4.7): on a `<Probe>` with
 * `<Types>inquiry</Types>`, each device multicasts its `<ProbeMatch>` to 239.255.255.250 after a
 * random moment (separate devices do not answer in the same microsecond). Anything else on the
 * group (answers, other stations' garbage) is ignored.
 */
export interface SadpResponderOptions {
  lan: BenchLan;
  port?: number;
  /** The devices that answer, as they are at the moment of the probe. */
  devices(): SadpIdentity[];
  /** Answers spread over 0..jitterMs (default 100). */
  jitterMs?: number;
  onWarning?: (why: string) => void;
}

export interface SadpResponder {
  multicast: BenchMulticastRecord;
  /** Probes answered so far. */
  readonly probes: number;
  /** Datagrams on the group that were not a probe (answers, garbage, over-size): dropped, counted. */
  readonly ignored: number;
  close(): Promise<void>;
}

const parser = new XMLParser({ parseTagValue: false, ignoreDeclaration: true, ignoreAttributes: true, htmlEntities: false, maxNestedTags: SADP_DATAGRAM_LIMITS.maxDepth });

/** The Uuid of an inquiry probe, or null for anything else; bounded before parsing like the station's reader. */
export function sadpProbeUuid(datagram: Uint8Array | string): string | null {
  const screen = screenSadpDatagram(datagram);
  if (!screen.ok) return null;
  try {
    const doc = parser.parse(screen.text) as { Probe?: { Uuid?: unknown; Types?: unknown } };
    if (typeof doc.Probe !== 'object' || doc.Probe === null) return null;
    const { Uuid, Types } = doc.Probe;
    return typeof Uuid === 'string' && typeof Types === 'string' && Types.trim().toLowerCase() === 'inquiry' ? Uuid.trim() : null;
  } catch {
    return null;
  }
}

export async function startSadpResponder(opts: SadpResponderOptions): Promise<SadpResponder> {
  const port = opts.port ?? SADP_PORT;
  const warn = opts.onWarning ?? (() => undefined);
  const { socket, record } = createBenchMulticastSocket(opts.lan, 1024 * 1024);
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let probes = 0;
  let ignored = 0;
  socket.on('message', (msg) => {
    if (closed) return;
    const uuid = sadpProbeUuid(msg);
    if (uuid === null) {
      ignored++;
      return;
    }
    probes++;
    for (const device of opts.devices()) {
      const xml = sadpProbeMatchXml(device, uuid);
      const t = setTimeout(() => {
        timers.delete(t);
        if (closed) return;
        socket.send(xml, port, SADP_MULTICAST_ADDRESS, (err) => {
          if (err) warn(`SADP answer of ${device.serial} not sent: ${err.message}`);
        });
      }, Math.random() * (opts.jitterMs ?? 100));
      timers.add(t);
    }
  });
  socket.on('error', (err) => warn(`SADP socket: ${err.message}`));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '0.0.0.0', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  try {
    socket.setMulticastInterface(opts.lan.address);
    socket.addMembership(SADP_MULTICAST_ADDRESS, opts.lan.address);
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(1);
  } catch (err) {
    socket.close();
    throw err;
  }
  return {
    multicast: record,
    get probes() {
      return probes;
    },
    get ignored() {
      return ignored;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const t of timers) clearTimeout(t);
        socket.close(() => resolve());
      }),
  };
}
