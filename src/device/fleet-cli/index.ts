/** `unbind fleet`: the command that runs QR cameras and the wired bench from the demo export. */
export * from './fleet-command.js';
export * from './wired-fleet-options.js';
