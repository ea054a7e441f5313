/**
 * 5. stdout: a container that printed 200 MiB (204,800 lines of 1 KiB); `GET .../stdout` through
 * BoatLoad against the engine's logs of the same container, demultiplexed by the raw client
 * (counting payload bytes), as any Engine API client must.
 */
import { logPayloadCounter } from '../http';
import { MiB } from '../util';
import { runStreamScenario } from './streams';
import type { BenchContext, Row, Scenario } from './types';

const LINE_BYTES = 1024;

export const stdout: Scenario = {
  id: 'stdout',
  number: 5,
  title: 'stdout',
  async run(ctx: BenchContext): Promise<Row[]> {
    const totalMiB = ctx.quick ? 4 : 200;
    const lines = (totalMiB * MiB) / LINE_BYTES;
    const script = ['#!/bin/sh', `line=$(printf '%0${LINE_BYTES - 1}d' 0)`, `yes "$line" | head -n ${lines}`, ''].join('\n');
    const expected = totalMiB * MiB;
    return runStreamScenario(ctx, {
      scenario: '5 stdout',
      name: `stdout of ${totalMiB} MiB`,
      label: 'stdout',
      script,
      minRatio: 0.8,
      expectedBytes: expected,
      iterations: ctx.iterations(3, 2),
      note: 'BoatLoad: GET /v1/container/<id>/stdout; raw: GET /containers/<id>/logs?stdout=1&stderr=1 on the engine socket, demultiplexed; same container; MiB/s of payload',
      boatload: async (id) => {
        const drained = await ctx.bl.http.drain(`/v1/container/${id}/stdout`);
        if (drained.bytes !== expected) throw new Error(`BoatLoad's stdout had ${drained.bytes} bytes, expected ${expected}`);
        return drained;
      },
      raw: async (name) => {
        const counter = logPayloadCounter();
        const drained = await ctx.raw.socket.drain(ctx.raw.apiPath(`/containers/${name}/logs?stdout=1&stderr=1`), counter.onChunk);
        if (counter.payload() !== expected) throw new Error(`the engine's logs had ${counter.payload()} payload bytes, expected ${expected}`);
        return { ...drained, bytes: counter.payload() };
      },
    });
  },
};
