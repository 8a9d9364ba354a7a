/** Staff roles, least to most privileged. */
export const staffRoles = ['agent', 'officer', 'team_lead', 'admin'] as const;
export type StaffRole = (typeof staffRoles)[number];

export const roleLabels: Record<StaffRole, string> = {
  agent: 'Contact centre agent',
  officer: 'Officer',
  team_lead: 'Team leader',
  admin: 'Administrator',
};

/**
 * Every permission a staff route can require, and the roles that hold it. One table, so an
 * auditor can read who may do what. Modules add their permissions here.
 */
export const permissionRoles = {
  'backoffice:use': ['agent', 'officer', 'team_lead', 'admin'],
  'cases:read': ['agent', 'officer', 'team_lead', 'admin'],
  'cases:work': ['officer', 'team_lead', 'admin'],
  'cases:assign': ['team_lead', 'admin'],
  'field:work': ['officer', 'team_lead', 'admin'],
  'cases:bulk': ['team_lead', 'admin'],
  'customers:read': ['agent', 'officer', 'team_lead', 'admin'],
  'assisted:act': ['agent', 'team_lead', 'admin'],
  'catalogue:edit': ['admin'],
  'outbox:read': ['team_lead', 'admin'],
  'audit:read': ['admin'],
  'apikeys:manage': ['admin'],
  'staff:manage': ['admin'],
  'payments:read': ['agent', 'officer', 'team_lead', 'admin'],
  'payments:take': ['agent', 'team_lead', 'admin'],
  'payments:refund': ['officer', 'team_lead', 'admin'],
  'payments:reconcile': ['team_lead', 'admin'],
  'signing:send': ['officer', 'team_lead', 'admin'],
  'signing:templates': ['team_lead', 'admin'],
  'engage:read': ['agent', 'officer', 'team_lead', 'admin'],
  'engage:consult': ['officer', 'team_lead', 'admin'],
  'engage:enter': ['agent', 'officer', 'team_lead', 'admin'],
  'engage:lend': ['agent', 'officer', 'team_lead', 'admin'],
  'engage:connectivity': ['officer', 'team_lead', 'admin'],
  'insights:read': ['team_lead', 'admin'],
  'insights:explore': ['team_lead', 'admin'],
  'insights:manage': ['admin'],
  'planning:read': ['agent', 'officer', 'team_lead', 'admin'],
  'planning:work': ['officer', 'team_lead', 'admin'],
  'planning:decide': ['officer', 'team_lead', 'admin'],
  // Care: the page only; the shared record itself opens through care-team membership or break the glass.
  'care:record': ['officer', 'team_lead', 'admin'],
  'care:directory': ['officer', 'team_lead', 'admin'],
  'care:privacy': ['admin'],
  'wellbeing:alerts': ['officer', 'team_lead', 'admin'],
  'wellbeing:install': ['officer', 'team_lead', 'admin'],
  'assistant:handle': ['agent', 'team_lead', 'admin'],
  'assistant:read': ['agent', 'officer', 'team_lead', 'admin'],
  'bookings:desk': ['agent', 'officer', 'team_lead', 'admin'],
  'bookings:manage': ['officer', 'team_lead', 'admin'],
  'bookings:slots': ['officer', 'team_lead', 'admin'],
} as const satisfies Record<string, readonly StaffRole[]>;

export type Permission = keyof typeof permissionRoles;

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(permissionRoles, value);
}

/** Whether a role holds a permission. */
export function can(role: StaffRole, permission: Permission): boolean {
  return (permissionRoles[permission] as readonly StaffRole[]).includes(role);
}
