import type { SatelliteClient } from './client';

/** Which satellite serves a machine. The local backend has exactly one. */
export interface SatelliteDirectory {
  forMachine(machineId: string | null): SatelliteClient;
  all(): SatelliteClient[];
}

export class SingleSatelliteDirectory implements SatelliteDirectory {
  constructor(private readonly satellite: SatelliteClient) {}

  forMachine(): SatelliteClient {
    return this.satellite;
  }

  all(): SatelliteClient[] {
    return [this.satellite];
  }
}
