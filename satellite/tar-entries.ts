/** Walking the entries of a tar stream one at a time, with back-pressure. */
import type { Readable } from 'node:stream';
import * as tar from 'tar-stream';

/**
 * Calls onEntry for every entry, waiting for it before the next; each entry's stream must be
 * consumed. Any failure (of the source, the archive or onEntry) destroys both streams and rejects.
 */
export function eachTarEntry(source: Readable, onEntry: (header: tar.Header, stream: Readable) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const extract = tar.extract();
    const fail = (err: Error): void => {
      source.destroy();
      extract.destroy();
      reject(err);
    };
    extract.on('entry', (header, stream, next) => {
      // tar-stream 3 entries are streamx streams; they pipe into Node streams like Readables.
      onEntry(header, stream as unknown as Readable).then(() => next(), fail);
    });
    extract.on('finish', resolve);
    extract.on('error', fail);
    source.on('error', fail);
    source.pipe(extract);
  });
}

/** Reads a stream to its end, discarding it. */
export function drain(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
    stream.resume();
  });
}
