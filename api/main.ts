/** API entry point. */
import { createLogger } from '../common/logger';
import { ConfigError, loadApiConfig } from './config';
import { buildApiServer } from './server';

async function main(): Promise<void> {
  let config;
  try {
    config = loadApiConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`api: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('api', { level: config.logLevel, format: config.logFormat });
  const api = await buildApiServer(config, logger);
  try {
    await api.listen();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`api: configuration error: ${err.message}\n`);
      await api.close().catch(() => undefined);
      process.exit(2);
    }
    throw err;
  }
  const stop = (): void => {
    logger.info('shutting down');
    api.close().then(() => process.exit(0), () => process.exit(1));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`api: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
