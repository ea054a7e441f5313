/** A satellite's HostEngine on the real engine, with small limits, for tests of the satellite's parts. */
import type Docker from 'dockerode';
import { AddressPolicy } from '../../common/address-policy';
import { silentLogger } from '../../common/logger';
import { HostEngine } from '../../satellite/host-engine';
import type { ScriptFiles } from '../../satellite/script-files';

export function testHostEngine(docker: Docker, scripts?: ScriptFiles): HostEngine {
  return new HostEngine({
    docker,
    logger: silentLogger,
    logLimits: { maxSize: '1m', maxFiles: 1 },
    data: { maxBytes: 1024 * 1024, maxEntries: 10, maxRatio: 100, downloadTimeoutMs: 1000, addresses: new AddressPolicy([]) },
    scripts,
  });
}
