import type { LanDeviceView } from '../protocol/index.js';
import type { LanDevice } from '../wired/index.js';

/** The LAN sweep's entries as the station API shows them. */
export function toLanDeviceView(d: LanDevice): LanDeviceView {
  return {
    key: d.key,
    source: d.source,
    devId: d.devId,
    pid: d.pid,
    serial: d.sn,
    firmware: d.fw,
    state: d.st,
    address: d.address,
    port: d.port,
    lastSeen: new Date(d.lastSeen).toISOString(),
    problem: d.problem,
    sadp: d.sadp ? { model: d.sadp.model, mac: d.sadp.mac, dhcp: d.sadp.dhcp, activated: d.sadp.activated, deviceType: d.sadp.deviceType } : null,
  };
}
