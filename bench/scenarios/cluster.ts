/**
 * 8. Cluster: the scenarios on the Swarm backend. A cluster run needs several engines in a Swarm
 * (test/cluster/harness.ts builds one in network namespaces); the bench does not build one yet,
 * so the scenario is reported as skipped, with the reason, in the table and the JSON.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../common/project-root';
import { skippedRow, type Row, type Scenario } from './types';

export const cluster: Scenario = {
  id: 'cluster',
  number: 8,
  title: 'cluster',
  async run(): Promise<Row[]> {
    const built = existsSync(join(projectRoot(), 'dist', 'units', 'scheduler', 'swarm-backend.js'));
    const reason = built
      ? 'skipped: the Swarm backend exists, but the bench does not build a multi-engine Swarm yet (no cluster scenario)'
      : 'skipped: the Swarm backend is not built yet';
    return [skippedRow('8 cluster', 'cluster (Swarm backend)', '-', reason, null, false)];
  },
};
