/**
 * 4. Archive: a container that wrote ~500 MiB (one large file and 5,000 small ones under /data);
 * `GET .../archive` through BoatLoad against the engine's `GET /containers/{id}/archive?path=/data`
 * of the same files. The warm-up reads parse both tars and check every file is there.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import type { Drained, HttpClient } from '../http';
import { MiB } from '../util';
import { runStreamScenario } from './streams';
import type { BenchContext, Row, Scenario } from './types';

const SMALL_BYTES = 10 * 1024;

/** Reads a tar and counts its regular files and their bytes (the warm-up's correctness check). */
async function parseTar(client: HttpClient, path: string): Promise<Drained & { files: number; fileBytes: number }> {
  const started = performance.now();
  // Streamed through tar-stream: the body is read once, entry by entry.
  let files = 0;
  let fileBytes = 0;
  let bytes = 0;
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    if (header.type === 'file') {
      files++;
      fileBytes += header.size ?? 0;
    }
    stream.on('end', next);
    stream.resume();
  });
  const body = await client.stream(path);
  body.on('data', (chunk: Buffer) => (bytes += chunk.length));
  await pipeline(body, extract as unknown as Writable);
  return { status: 200, bytes, ms: performance.now() - started, files, fileBytes };
}

export const archive: Scenario = {
  id: 'archive',
  number: 4,
  title: 'archive',
  async run(ctx: BenchContext): Promise<Row[]> {
    const totalMiB = ctx.quick ? 8 : 500;
    const smallCount = ctx.quick ? 50 : 5000;
    const smallBytes = smallCount * SMALL_BYTES;
    const bigBytes = totalMiB * MiB - smallBytes;
    if (bigBytes <= 0 || bigBytes % 1024 !== 0) throw new Error('bad archive sizes');
    const script = [
      '#!/bin/sh',
      'set -e',
      'mkdir -p /data/small',
      `dd if=/dev/zero of=/data/big bs=1024 count=${bigBytes / 1024} 2>/dev/null`,
      'i=0',
      `while [ $i -lt ${smallCount} ]; do printf '%0${SMALL_BYTES}d' 0 > /data/small/f$i; i=$((i+1)); done`,
      'echo written',
      '',
    ].join('\n');
    const expectedFiles = smallCount + 1;
    const expectedFileBytes = bigBytes + smallBytes;
    const check = (side: string, got: { files: number; fileBytes: number }): void => {
      if (got.files !== expectedFiles || got.fileBytes !== expectedFileBytes) {
        throw new Error(`${side}'s archive has ${got.files} files / ${got.fileBytes} bytes; expected ${expectedFiles} / ${expectedFileBytes}`);
      }
    };
    return runStreamScenario(ctx, {
      scenario: '4 archive',
      name: `archive of ${totalMiB} MiB (1 large + ${smallCount} small files)`,
      label: 'archive',
      script,
      minRatio: 0.8,
      expectedBytes: expectedFileBytes,
      iterations: ctx.iterations(5, 2),
      note: 'BoatLoad: GET /v1/container/<id>/archive; raw: GET /containers/<id>/archive?path=/data on the engine socket; same container',
      boatload: async (id, verify) => {
        const path = `/v1/container/${id}/archive`;
        if (!verify) return ctx.bl.http.drain(path);
        const parsed = await parseTar(ctx.bl.http, path);
        check('BoatLoad', parsed);
        return parsed;
      },
      raw: async (name, verify) => {
        const path = ctx.raw.apiPath(`/containers/${name}/archive?path=${encodeURIComponent('/data')}`);
        if (!verify) return ctx.raw.socket.drain(path);
        const parsed = await parseTar(ctx.raw.socket, path);
        check('the engine', parsed);
        return parsed;
      },
    });
  },
};
