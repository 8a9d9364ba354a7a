/** Who did something: the "who" of every audit entry and domain event. */
export interface Actor {
  type: 'resident' | 'staff' | 'system' | 'api';
  id: string | null;
  /** For staff acting for a resident (assisted digital): the resident. */
  onBehalfOf?: string;
}

export const systemActor: Actor = { type: 'system', id: null };
