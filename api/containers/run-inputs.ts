/**
 * The standard input of runs that have one (function invocations), by container id, until the
 * container is removed. Kept in memory only: an invocation lives as long as the request (or the
 * operation) that waits for it, and neither survives an API restart.
 */
export class RunInputs {
  private readonly inputs = new Map<string, string>();

  set(id: string, stdinBase64: string): void {
    this.inputs.set(id, stdinBase64);
  }

  get(id: string): string | undefined {
    return this.inputs.get(id);
  }

  delete(id: string): void {
    this.inputs.delete(id);
  }
}
