/**
 * After each test file (jest.config.js: setupFilesAfterEnv, so the same module instance the file
 * used): its request-id storage is disabled. Jest runs every file in one process (--runInBand), and
 * an enabled storage would otherwise stay enabled, costing every later file's async calls.
 */
import { endRequestContexts } from '../../common/request-context';

afterAll(() => {
  endRequestContexts();
});
