/** What a unit's observed engine state means, in systemd's terms and in BoatLoad's. */
import type { EngineObservation, SystemdState, UnitRecord } from './model';

/**
 * systemd's view of the unit on its machine; null when it has no state there (inactive units).
 * The store repeats when it is null in SQL (api/store/units.ts, HAS_SYSTEMD_STATE) to page states.
 */
export function systemdStateOf(unit: Pick<UnitRecord, 'desiredState' | 'currentState' | 'observed' | 'reason'>): SystemdState | null {
  const observed = unit.observed;
  if (unit.currentState === 'inactive' && (!observed || observed.status === 'missing')) return null;
  if (!observed || observed.status === 'missing') {
    return unit.reason ? { loadState: 'loaded', activeState: 'failed', subState: 'failed' } : { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
  }
  switch (observed.status) {
    case 'running':
    case 'paused':
      return { loadState: 'loaded', activeState: 'active', subState: 'running' };
    case 'restarting':
      return { loadState: 'loaded', activeState: 'activating', subState: 'auto-restart' };
    case 'removing':
      return { loadState: 'loaded', activeState: 'deactivating', subState: 'stop' };
    case 'dead':
      return { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
    case 'exited':
      return observed.exitCode === 0 || observed.exitCode === null
        ? { loadState: 'loaded', activeState: 'inactive', subState: 'dead' }
        : { loadState: 'loaded', activeState: 'failed', subState: 'failed' };
    case 'created':
      return observed.error
        ? { loadState: 'loaded', activeState: 'failed', subState: 'failed' }
        : { loadState: 'loaded', activeState: 'inactive', subState: 'dead' };
  }
}

export type ContainerStatus = 'creating' | 'starting' | 'running' | 'restarting' | 'paused' | 'exited' | 'error' | 'lost' | 'stopped';

/** BoatLoad's one-word summary of a container unit, for listings. */
export function containerStatusOf(unit: Pick<UnitRecord, 'desiredState' | 'observed' | 'reason' | 'everStarted'>): ContainerStatus {
  const observed: EngineObservation | null = unit.observed;
  if (!observed) return unit.reason ? 'error' : 'creating';
  switch (observed.status) {
    case 'missing':
      return unit.everStarted ? 'lost' : unit.reason ? 'error' : 'creating';
    case 'created':
      if (observed.error || unit.reason) return 'error';
      return unit.desiredState === 'launched' && !unit.everStarted ? 'starting' : 'stopped';
    case 'running':
      return 'running';
    case 'paused':
      return 'paused';
    case 'restarting':
      return 'restarting';
    case 'removing':
      return 'exited';
    case 'exited':
      // Stopped by BoatLoad for a reason (a quota, see Scheduler.halt): an error, with that reason.
      return unit.reason && unit.desiredState !== 'launched' ? 'error' : 'exited';
    case 'dead':
      return 'error';
  }
}
