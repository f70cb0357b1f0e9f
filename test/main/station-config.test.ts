import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { configFromArgv, configFromSettingsFile, StartUsageError } from '../../src/main/station-config.js';
import { createServiceStack } from '../../src/main/service-stack.js';

describe('station config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('given no flags, then every default of `unbind start --help` applies', () => {
    expect(configFromArgv([])).toEqual({
      port: 8790, dataDir: '.data', authorityUrl: null, demoExport: null, authorityPort: 8787, bench: true, benchDevices: 64, benchWired: 24,
      benchNotReset: 1, benchUart: 3, benchScanner: false, lan: true, lanInterface: '127.0.0.1', mdnsPort: 5353, sadpPort: 37020, timeZone: 'UTC', logLevel: 'warn',
      stopFailures: 5, stopWindow: 10, noReportSeconds: 60, benchWiredFaults: null, benchQrFaults: null, benchQrProducts: ['pqr1cam'],
    });
  });

  it('the stop rule and the no-report notice are configurable; a rule needing more failures than results judged is refused', () => {
    expect(configFromArgv(['--stop-failures', '3', '--stop-window', '4', '--no-report-seconds', '0'])).toMatchObject({ stopFailures: 3, stopWindow: 4, noReportSeconds: 0 });
    expect(configFromArgv(['--stop-failures', '0'])).toMatchObject({ stopFailures: 0 });
    expect(() => configFromArgv(['--stop-failures', '11'])).toThrow(/--stop-failures/);
    expect(configFromArgv(['--bench-qr-products', 'pqr1cam, pfwcam2'])).toMatchObject({ benchQrProducts: ['pqr1cam', 'pfwcam2'] });
  });

  it('given flags, then they become the config; a malformed one is a usage error that names the flag', () => {
    const c = configFromArgv(['--port', '0', '--authority', 'http://127.0.0.1:9000/', '--no-bench', '--no-lan', '--tz', 'Europe/Berlin', '--bench-uart', '0']);
    expect(c).toMatchObject({ port: 0, authorityUrl: 'http://127.0.0.1:9000', bench: false, lan: false, timeZone: 'Europe/Berlin', benchUart: 0 });
    expect(() => configFromArgv(['--port', '70000'])).toThrow(/--port/);
    expect(() => configFromArgv(['--port', 'x'])).toThrow(StartUsageError);
    expect(() => configFromArgv(['--authority', 'not a url'])).toThrow(/--authority/);
    expect(() => configFromArgv(['--tz', 'Mars/Olympus'])).toThrow(/--tz: not a known time zone/);
    expect(() => configFromArgv(['--log-level', 'loud'])).toThrow(/--log-level/);
    expect(() => configFromArgv(['--what'])).toThrow(/what/);
  });

  it("given Electron's settings file, then its keys override the app's defaults; a missing file means defaults; a bad one is refused", () => {
    const file = join(dir, 'settings.json');
    expect(configFromSettingsFile(file, { dataDir: '/app/data' })).toMatchObject({ dataDir: '/app/data', port: 8790 });
    writeFileSync(file, JSON.stringify({ port: 0, bench: false }));
    expect(configFromSettingsFile(file, { dataDir: '/app/data' })).toMatchObject({ dataDir: '/app/data', port: 0, bench: false });
    writeFileSync(file, JSON.stringify({ port: 'eighty' }));
    expect(() => configFromSettingsFile(file)).toThrow(/settings\.json: port/);
    writeFileSync(file, JSON.stringify({ ports: 1 }));
    expect(() => configFromSettingsFile(file)).toThrow(StartUsageError);
  });
});

describe('service stack', () => {
  it('when a start fails midway, then what had started stops, last first, and a failing stop does not keep the others running', async () => {
    const log: string[] = [];
    const failures: string[] = [];
    const stack = createServiceStack((name) => failures.push(name));
    await stack.start('store', () => log.push('start store'), () => log.push('stop store'));
    await stack.start('sweep', () => log.push('start sweep'), () => {
      throw new Error('busy');
    });
    await stack.start('server', () => log.push('start server'), () => log.push('stop server'));
    await expect(stack.start('bench', () => Promise.reject(new Error('no socat')), () => log.push('stop bench'))).rejects.toThrow('no socat');
    await stack.stop();
    await stack.stop();
    expect(log).toEqual(['start store', 'start sweep', 'start server', 'stop server', 'stop store']);
    expect(failures).toEqual(['sweep']);
  });

  it('given a stop while a service is still starting, then that service stops as soon as it has started and never outlives the stack', async () => {
    const log: string[] = [];
    const stack = createServiceStack();
    await stack.start('store', () => log.push('start store'), () => log.push('stop store'));
    let finishStart: () => void = () => undefined;
    const slow = stack.start('server', () => new Promise<string>((r) => (finishStart = () => r('server'))), () => log.push('stop server'));
    const stopped = stack.stop();
    finishStart();
    await expect(slow).rejects.toThrow(/server started after the station was told to stop/);
    await stopped;
    expect(log).toEqual(['start store', 'stop store', 'stop server']);
  });
});
