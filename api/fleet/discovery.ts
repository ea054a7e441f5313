/**
 * The API's discovery document (Google API discovery format, as fleet served it at
 * `/fleet/v1/discovery`): the resources, methods and schemas of this API.
 */

const pageToken = { type: 'string', location: 'query' } as const;

const unitSchema = {
  id: 'Unit',
  type: 'object',
  properties: {
    name: { type: 'string' },
    options: { type: 'array', items: { $ref: 'UnitOption' } },
    desiredState: { type: 'string', enum: ['inactive', 'loaded', 'launched'] },
    currentState: { type: 'string', enum: ['inactive', 'loaded', 'launched'] },
    machineID: { type: 'string' },
    reason: { type: 'string', description: 'BoatLoad only: why the unit is not as desired.' },
  },
} as const;

export const DISCOVERY_DOCUMENT = {
  kind: 'discovery#restDescription',
  discoveryVersion: 'v1',
  id: 'fleet:v1',
  name: 'schema',
  version: 'v1',
  title: 'fleet API (BoatLoad)',
  description: 'fleet v1 compatible unit API served by BoatLoad: units describe containers.',
  documentationLink: 'https://github.com/coreos/fleet/blob/master/Documentation/api-v1.md',
  protocol: 'rest',
  servicePath: 'fleet/v1/',
  batchPath: 'batch',
  parameters: {
    alt: { type: 'string', description: 'Data format for the response.', default: 'json', enum: ['json'], location: 'query' },
  },
  schemas: {
    Machine: {
      id: 'Machine',
      type: 'object',
      properties: {
        id: { type: 'string' },
        primaryIP: { type: 'string' },
        metadata: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    MachinePage: {
      id: 'MachinePage',
      type: 'object',
      properties: { machines: { type: 'array', items: { $ref: 'Machine' } }, nextPageToken: { type: 'string' } },
    },
    UnitOption: {
      id: 'UnitOption',
      type: 'object',
      properties: { section: { type: 'string' }, name: { type: 'string' }, value: { type: 'string' } },
    },
    Unit: unitSchema,
    UnitPage: {
      id: 'UnitPage',
      type: 'object',
      properties: { units: { type: 'array', items: { $ref: 'Unit' } }, nextPageToken: { type: 'string' } },
    },
    UnitState: {
      id: 'UnitState',
      type: 'object',
      properties: {
        name: { type: 'string' },
        hash: { type: 'string' },
        machineID: { type: 'string' },
        systemdLoadState: { type: 'string' },
        systemdActiveState: { type: 'string' },
        systemdSubState: { type: 'string' },
      },
    },
    UnitStatePage: {
      id: 'UnitStatePage',
      type: 'object',
      properties: { states: { type: 'array', items: { $ref: 'UnitState' } }, nextPageToken: { type: 'string' } },
    },
  },
  resources: {
    Machines: {
      methods: {
        List: { id: 'fleet.Machine.List', description: 'Retrieve a page of Machine objects.', httpMethod: 'GET', path: 'machines', parameters: { nextPageToken: pageToken }, response: { $ref: 'MachinePage' } },
        Patch: { id: 'fleet.Machine.Patch', description: 'Edit machine metadata (add, remove, replace).', httpMethod: 'PATCH', path: 'machines' },
      },
    },
    Units: {
      methods: {
        List: { id: 'fleet.Unit.List', description: 'Retrieve a page of Unit objects.', httpMethod: 'GET', path: 'units', parameters: { nextPageToken: pageToken }, response: { $ref: 'UnitPage' } },
        Get: {
          id: 'fleet.Unit.Get',
          description: 'Retrieve a single Unit object.',
          httpMethod: 'GET',
          path: 'units/{unitName}',
          parameters: { unitName: { type: 'string', location: 'path', required: true } },
          parameterOrder: ['unitName'],
          response: { $ref: 'Unit' },
        },
        Delete: {
          id: 'fleet.Unit.Delete',
          description: 'Delete the referenced Unit object.',
          httpMethod: 'DELETE',
          path: 'units/{unitName}',
          parameters: { unitName: { type: 'string', location: 'path', required: true } },
          parameterOrder: ['unitName'],
        },
        Set: {
          id: 'fleet.Unit.Set',
          description: 'Create or update a Unit.',
          httpMethod: 'PUT',
          path: 'units/{unitName}',
          parameters: { unitName: { type: 'string', location: 'path', required: true } },
          parameterOrder: ['unitName'],
          request: { $ref: 'Unit' },
        },
      },
    },
    UnitState: {
      methods: {
        List: {
          id: 'fleet.UnitState.List',
          description: 'Retrieve a page of UnitState objects.',
          httpMethod: 'GET',
          path: 'state',
          parameters: { nextPageToken: pageToken, unitName: { type: 'string', location: 'query' }, machineID: { type: 'string', location: 'query' } },
          response: { $ref: 'UnitStatePage' },
        },
        Get: {
          id: 'fleet.UnitState.Get',
          description: 'Retrieve the state of one unit (BoatLoad: one machine per unit).',
          httpMethod: 'GET',
          path: 'state/{unitName}',
          parameters: { unitName: { type: 'string', location: 'path', required: true } },
          parameterOrder: ['unitName'],
          response: { $ref: 'UnitState' },
        },
      },
    },
  },
} as const;
