/** Runs a shell command in a container on a real engine (real processes, real packets). */
import type Docker from 'dockerode';

/** The command's exit code (-1 when the engine has none) and its output (a TTY: stdout and stderr as one). */
export async function execIn(container: Docker.Container, command: string): Promise<{ code: number; output: string }> {
  const exec = await container.exec({ Cmd: ['sh', '-c', command], AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  let output = '';
  stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
  });
  const { ExitCode } = (await exec.inspect()) as { ExitCode: number | null };
  return { code: ExitCode ?? -1, output };
}
