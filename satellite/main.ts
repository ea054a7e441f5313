/** Satellite entry point: one per Docker host. */
import Docker from 'dockerode';
import { createLogger } from '../common/logger';
import { SignatureVerifier } from '../common/signing';
import { createSatelliteApp } from './app';
import { ConfigError, loadSatelliteConfig } from './config';
import { ContainerFiles } from './container-files';
import { HostEngine } from './host-engine';
import { advertisedAddress, machineInfoReader } from './machine';
import { MetricsReader } from './metrics';
import { WarmMembers } from './warm-members';
import { WarmNetworks } from './warm-networks';
import { ScriptFiles } from './script-files';
import { Firewall } from './firewall';
import { swarmGatewayOf } from './swarm-gateway';
import { followGateway, SwarmMembership } from './swarm-membership';
import { UserNetworks } from './user-networks';
import type { EngineEndpoint } from './swarm-proxy';

/** Where dockerode reaches the engine (DOCKER_HOST or the default socket), for the swarm proxy. */
function engineEndpointOf(docker: Docker): EngineEndpoint {
  // dockerode's types do not describe its modem's connection settings.
  const modem = docker.modem as { socketPath?: unknown; host?: string; port?: number | string };
  if (typeof modem.socketPath === 'string') return { socketPath: modem.socketPath };
  if (modem.host) return { host: modem.host, port: modem.port === undefined ? undefined : Number(modem.port) };
  // docker-modem quirk: without DOCKER_HOST its socketPath is a function that looks for the default
  // socket lazily; the engine's own default is this one.
  return { socketPath: '/var/run/docker.sock' };
}
import { SatelliteMetrics } from './satellite-metrics';
import { startMetricsListener } from '../common/metrics/exposition';

/** How often the satellite asks its engine whether it is a Swarm node (SwarmMembership). */
const SWARM_MEMBERSHIP_CHECK_MS = 15_000;

/** Whether the engine is a node of an active Swarm. */
async function isSwarmNode(docker: Docker): Promise<boolean> {
  const info = (await docker.info()) as { Swarm?: { LocalNodeState?: string } };
  return info.Swarm?.LocalNodeState === 'active';
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadSatelliteConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`satellite: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('satellite', { level: config.logLevel, format: config.logFormat });
  const docker = new Docker();
  // The network policy holds or the satellite does not run: never silently allow everything.
  let firewall: Firewall | null = null;
  let swarmAtStart = false;
  if (config.firewall) {
    try {
      // On a Swarm node the swarm backend's `internet` containers leave through docker_gwbridge.
      const swarm = (swarmAtStart = await isSwarmNode(docker));
      const swarmGateway = swarm ? await swarmGatewayOf(config.firewall.hostPorts) : undefined;
      firewall = new Firewall({ prefix: config.firewall.prefix, egressAllow: config.firewall.egressAllow, logger, swarmGateway });
      const version = await firewall.start();
      logger.info(`firewall: chains ${config.firewall.prefix}-* hooked into INPUT and DOCKER-USER (${version})${swarm ? ', docker_gwbridge guarded (a Swarm node)' : ''}`);
    } catch (err) {
      process.stderr.write(`satellite: the network policy cannot be enforced: ${(err as Error).message} (SATELLITE_FIREWALL=off runs without it)\n`);
      process.exit(2);
    }
  }
  const networks = new UserNetworks({ docker, logger, firewall, owner: config.firewall?.prefix ?? 'BOATLOAD', graceMs: config.networkGraceMs });
  try {
    await networks.reconcile();
  } catch (err) {
    process.stderr.write(`satellite: the network policy cannot be enforced: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // The engine may join a Swarm (or leave it) after the satellite started: the gateway rules follow.
  let membership: SwarmMembership | null = null;
  if (firewall && config.firewall) {
    membership = new SwarmMembership({
      isSwarmNode: () => isSwarmNode(docker),
      initial: swarmAtStart,
      onChange: followGateway({ firewall, hostPorts: config.firewall.hostPorts, rebuild: () => networks.reconcile() }),
      intervalMs: SWARM_MEMBERSHIP_CHECK_MS,
      logger,
    });
    membership.start();
  }
  const logLimits = { maxSize: config.logMaxSize, maxFiles: config.logMaxFiles };
  const engine = new HostEngine({
    networks,
    docker,
    logger,
    logLimits,
    data: { maxBytes: config.dataMaxBytes, maxEntries: config.dataMaxEntries, maxRatio: config.dataMaxRatio, downloadTimeoutMs: config.downloadTimeoutMs, addresses: config.downloadAddresses },
    scripts: config.scriptDir ? new ScriptFiles(config.scriptDir) : undefined,
    advertisedIp: advertisedAddress(config.publicIp),
  });
  // Scripts of containers removed behind the satellite's back: at start, then every 10 minutes.
  const sweepScripts = (): void => {
    engine.sweepScripts().then(
      (removed) => removed && logger.info(`removed ${removed} scripts of containers that are gone`),
      (err: Error) => logger.warn(`script sweep failed: ${err.message}`),
    );
  };
  // Users' networks whose containers were removed behind the satellite's back: likewise.
  const sweep = (): void => {
    sweepScripts();
    engine.sweepNetworks().catch((err: Error) => logger.warn(`network sweep failed: ${err.message}`));
  };
  sweep();
  const sweeper = setInterval(sweep, 10 * 60 * 1000);
  sweeper.unref();
  const instruments = new SatelliteMetrics();
  const app = createSatelliteApp({
    instruments,
    engine,
    files: new ContainerFiles(),
    metrics: new MetricsReader(),
    verifier: new SignatureVerifier({ secret: config.secret, windowSeconds: config.signatureWindowSeconds }),
    machine: machineInfoReader({ docker, publicIp: config.publicIp, metadata: config.metadata }),
    logger,
    maxBodyBytes: config.maxBodyBytes,
    swarmProxy: config.swarmProxy ? engineEndpointOf(docker) : undefined,
    warm: config.scriptDir ? new WarmMembers({ docker, engine, scriptDir: config.scriptDir, logLimits, networks: new WarmNetworks({ docker, networks, owner: config.firewall?.prefix ?? 'BOATLOAD', logger }) }) : null,
  });
  const server = app.listen(config.port, config.host, () => {
    logger.info(`listening on http://${config.host}:${config.port}`);
  });
  if (config.metricsListener) {
    startMetricsListener({ ...config.metricsListener, registry: instruments.registry }).then(
      (listener) => logger.warn(`metrics listener on http://${listener.address.address}:${listener.address.port}/metrics answers without a signature`),
      (err: Error) => {
        logger.error(`metrics listener: ${err.message}`);
        process.exit(1);
      },
    );
  }
  // The API keeps connections alive: close idle ones only after a minute, not Node's 5 s, so reuse
  // rarely races a close (the API retries a read that does).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const stop = (): void => {
    logger.info('shutting down');
    networks.close();
    membership?.stop();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
