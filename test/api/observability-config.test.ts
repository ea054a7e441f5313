/** The metrics listener and log format settings are validated at start-up, naming the variable. */
import { loadApiConfig } from '../../api/config';
import { loadSatelliteConfig } from '../../satellite/config';

const base = { BOATLOAD_FLEET_SOCKET: 'off', SATELLITE_SECRET: 'a-satellite-secret-of-enough-length' };

test('API: BOATLOAD_METRICS_PORT opens the listener on loopback by default; bad values fail fast', () => {
  expect(loadApiConfig(base).metricsListener).toBeNull();
  expect(loadApiConfig({ ...base, BOATLOAD_METRICS_PORT: '9100' }).metricsListener).toEqual({ host: '127.0.0.1', port: 9100 });
  expect(loadApiConfig({ ...base, BOATLOAD_METRICS_PORT: '9100', BOATLOAD_METRICS_HOST: '10.0.0.5' }).metricsListener).toEqual({ host: '10.0.0.5', port: 9100 });
  expect(() => loadApiConfig({ ...base, BOATLOAD_METRICS_HOST: '10.0.0.5' })).toThrow('BOATLOAD_METRICS_HOST is set but BOATLOAD_METRICS_PORT is not');
  expect(() => loadApiConfig({ ...base, BOATLOAD_METRICS_PORT: '70000' })).toThrow(/BOATLOAD_METRICS_PORT must be a port number/);
  expect(() => loadApiConfig({ ...base, BOATLOAD_METRICS_PORT: 'nine' })).toThrow(/BOATLOAD_METRICS_PORT/);
});

test('satellite: SATELLITE_METRICS_PORT likewise', () => {
  expect(loadSatelliteConfig(base).metricsListener).toBeNull();
  expect(loadSatelliteConfig({ ...base, SATELLITE_METRICS_PORT: '9101' }).metricsListener).toEqual({ host: '127.0.0.1', port: 9101 });
  expect(() => loadSatelliteConfig({ ...base, SATELLITE_METRICS_HOST: '0.0.0.0' })).toThrow('SATELLITE_METRICS_HOST is set but SATELLITE_METRICS_PORT is not');
  expect(() => loadSatelliteConfig({ ...base, SATELLITE_METRICS_PORT: '65536' })).toThrow(/SATELLITE_METRICS_PORT must be a port number/);
});

test('LOG_FORMAT: json, pretty, or auto; anything else names the variable', () => {
  expect(loadApiConfig({ ...base, LOG_FORMAT: 'json' }).logFormat).toBe('json');
  expect(loadApiConfig({ ...base, LOG_FORMAT: 'pretty' }).logFormat).toBe('pretty');
  // Under jest stdout is not a terminal: auto means JSON.
  expect(loadApiConfig({ ...base, LOG_FORMAT: 'auto' }).logFormat).toBe(process.stdout.isTTY ? 'pretty' : 'json');
  expect(() => loadApiConfig({ ...base, LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be json, pretty or auto, got "xml"');
  expect(() => loadSatelliteConfig({ ...base, LOG_FORMAT: 'xml' })).toThrow('LOG_FORMAT must be json, pretty or auto, got "xml"');
});
