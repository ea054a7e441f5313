/** Labels BoatLoad puts on engine containers: which installation, unit, container record and owner. */
export const CONTAINER_LABELS = {
  id: 'boatload.id',
  owner: 'boatload.owner',
  instance: 'boatload.instance',
  unit: 'boatload.unit',
} as const;
