/** /v1/functions: named scripts invoked with arguments, each invocation a fresh container. Thin routes over FunctionService. */
import type { Request } from 'express';
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import { functionRequestSchema, invokeRequestSchema, parseFunctionRequest, parseInvokeRequest } from './requests';
import type { FunctionService } from './service';

export interface FunctionRouteDeps {
  functions: FunctionService;
}

const name = (req: Request): string => String(req.params.name);
const VIEW = '{name, owner, image_name, image_tag, cmd, has_script, env, timeout, memory, cpus, min_warm, max_warm, max_concurrency, idle_timeout, reuse, created, capacity: {state: cold|warming|warm, warm, warming, target, in_flight}, last_invocations: [{at, status, duration_ms, cold}]}';

export function functionGroup(deps: FunctionRouteDeps): RouteGroup {
  const { functions } = deps;
  return {
    name: 'functions',
    base: '/v1/functions',
    description: 'Functions: a named script or command with its image, variables, limits and timeout; every invocation runs in a fresh container (warm when the warm pool has one of its class).',
    idVariable: 'FUNCTION',
    routes: [
      {
        method: 'post',
        path: '/',
        summary: 'Define a function (names are unique per owner).',
        answer: `201 ${VIEW}; 409 if you have one of that name`,
        example: { body: { name: 'hello', script: 'IyEvYmluL3NoCmVjaG8gImhlbGxvICQxIgo=', timeout: 10 } },
        bodySchema: functionRequestSchema,
        handlers: [
          async (req, res) => {
            res.status(201).json(await functions.create(currentUser(req), parseFunctionRequest(req.body)));
          },
        ],
      },
      {
        method: 'get',
        path: '/',
        summary: 'Your functions.',
        answer: `200 [${VIEW}]`,
        handlers: [
          async (req, res) => {
            res.json(await functions.list(currentUser(req)));
          },
        ],
      },
      {
        method: 'get',
        path: '/:name',
        summary: 'One function, its invocations in flight and its last invocations.',
        answer: `200 ${VIEW}`,
        handlers: [
          async (req, res) => {
            res.json(await functions.get(currentUser(req), name(req)));
          },
        ],
      },
      {
        method: 'delete',
        path: '/:name',
        summary: 'Delete the function (invocations in flight finish).',
        answer: '204',
        handlers: [
          async (req, res) => {
            await functions.delete(currentUser(req), name(req));
            res.status(204).end();
          },
        ],
      },
      {
        method: 'post',
        path: '/:name/invoke',
        summary: 'Invoke it: inline, or with ?async=true a 202 with an operation to follow. 429 with Retry-After over max_concurrency.',
        query: [{ name: 'async', type: 'boolean', description: 'true: answer 202 with an operation at once.' }],
        answer: '200 {exit_code, stdout, stderr, duration_ms, cold, timed_out, truncated}; 202 {id, kind: invoke, status, target, ...} with ?async=true',
        example: { body: { args: ['world'] } },
        bodySchema: invokeRequestSchema,
        handlers: [
          async (req, res) => {
            const user = currentUser(req);
            const input = parseInvokeRequest(req.body);
            if (req.query.async === 'true' || req.query.async === '1') res.status(202).json(await functions.invokeLater(user, name(req), input));
            else res.json(await functions.invoke(user, name(req), input));
          },
        ],
      },
    ],
  };
}
