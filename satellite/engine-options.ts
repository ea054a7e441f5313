/** Translates a ContainerSpec into the engine's create options. */
import type Docker from 'dockerode';
import type { ContainerSpec } from '../common/container-spec';
import { hostnameOf } from '../common/network-model';

export interface LogLimits {
  maxSize: string;
  maxFiles: number;
}

export function engineCreateOptions(spec: ContainerSpec, logs: LogLimits): Docker.ContainerCreateOptions {
  const exposedPorts: Record<string, object> = {};
  const portBindings: Record<string, Array<{ HostIp?: string; HostPort?: string }>> = {};
  for (const port of spec.ports) {
    const key = `${port.containerPort}/${port.protocol}`;
    exposedPorts[key] = {};
    (portBindings[key] ??= []).push({ HostIp: port.hostIp ?? '', HostPort: port.hostPort ? String(port.hostPort) : '' });
  }
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: spec.cmd,
    Entrypoint: spec.entrypoint,
    Env: Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
    Labels: spec.labels,
    WorkingDir: spec.workdir,
    Hostname: hostnameOf(spec.labels),
    Tty: false,
    OpenStdin: false,
    ExposedPorts: exposedPorts,
    HostConfig: {
      RestartPolicy: { Name: spec.restart === 'no' ? '' : spec.restart },
      AutoRemove: spec.autoRemove,
      Memory: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      PidsLimit: spec.pidsLimit,
      NetworkMode: spec.network,
      PortBindings: portBindings,
      ExtraHosts: spec.extraHosts?.map((host) => `${host.name}:${host.ip}`),
      Binds: spec.volumes.map((v) => `${v.source}:${v.target}${v.readonly ? ':ro' : ''}`),
      // Bounded stored output: the json-file driver rotates at max-size and keeps max-file files.
      LogConfig: { Type: 'json-file', Config: { 'max-size': logs.maxSize, 'max-file': String(logs.maxFiles) } },
    },
  };
}
