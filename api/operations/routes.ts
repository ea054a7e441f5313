/** /v1/operations: receipts of long actions. Thin routes over OperationService. */
import type { Request } from 'express';
import { currentUser } from '../auth/authenticate';
import type { RouteGroup } from '../http/route-table';
import type { OperationService } from './service';

export interface OperationRouteDeps {
  operations: OperationService;
}

const id = (req: Request): string => String(req.params.id);

export function operationGroup(deps: OperationRouteDeps): RouteGroup {
  const { operations } = deps;
  return {
    name: 'operations',
    base: '/v1/operations',
    description: 'Operations: receipts of long actions (start, stop, restart, snapshot, fork, batch_create), kept in the store. status: pending → running → succeeded | failed (with error). An API restart fails the unfinished ones ("interrupted by an API restart").',
    idVariable: 'OPERATION',
    routes: [
      {
        method: 'get',
        path: '/',
        summary: 'Your operations, newest first (admins: all); at most 200.',
        answer: '200 {operations: [{id, kind, status, target, created, updated, result?, error?}]}',
        handlers: [
          async (req, res) => {
            res.json({ operations: await operations.list(currentUser(req)) });
          },
        ],
      },
      {
        method: 'get',
        path: '/:id',
        summary: 'One operation.',
        answer: '200 {operation: {id, kind, status, target, created, updated, result?, error?}}',
        handlers: [
          async (req, res) => {
            res.json({ operation: await operations.get(currentUser(req), id(req)) });
          },
        ],
      },
    ],
  };
}

