/** Engine answers → EngineObservation. */
import type { ContainerInspection } from '../../common/satellite-protocol';
import type { EngineObservation, EngineStatus } from './model';

const ENGINE_STATUSES: readonly EngineStatus[] = ['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead'];

export function toEngineStatus(state: string): EngineStatus {
  return (ENGINE_STATUSES as readonly string[]).includes(state) ? (state as EngineStatus) : 'dead';
}

export function observationOf(inspection: ContainerInspection | null, error: string | null = null): EngineObservation {
  const observedAt = new Date().toISOString();
  if (!inspection) return { status: 'missing', exitCode: null, error, observedAt };
  const state = inspection.state;
  // Docker quirk: a never-started container reports ExitCode 0 and StartedAt 0001-01-01.
  const neverStarted = state.StartedAt.startsWith('0001-');
  const observation: EngineObservation = {
    status: toEngineStatus(state.Status),
    exitCode: neverStarted && state.Status === 'created' ? null : state.ExitCode,
    error: error ?? (state.Error || null),
    observedAt,
  };
  if (inspection.ports && inspection.ports.length > 0) observation.ports = inspection.ports;
  return observation;
}
