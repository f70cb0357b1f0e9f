/** LAN devices of the wired method (DESIGN §4.5, §4.7): the device, its local API, its mDNS and SADP answers, and the wired bench. */
export * from './wired-multicast-socket.js';
export * from './wired-address-pool.js';
export * from './wired-device.js';
export * from './wired-device-api.js';
export * from './wired-mdns-responder.js';
export * from './wired-fault-spec.js';
export * from './wired-bench.js';
export * from './sadp-probe-match-xml.js';
export * from './sadp-responder.js';
