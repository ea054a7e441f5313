/**
 * The lines of a newline-delimited stream (the engine's events, the satellite's event feed), whatever
 * the chunking: a chunk may hold several lines or part of one. Empty lines are skipped; a last line
 * without its newline is not a line.
 */
export async function* textLines(stream: AsyncIterable<unknown>): AsyncGenerator<string> {
  let partial = '';
  for await (const chunk of stream) {
    const lines = (partial + String(chunk)).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) yield line;
  }
}
