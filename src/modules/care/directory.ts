import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import * as store from './store.ts';

export interface Point {
  lat: number;
  lng: number;
}

/**
 * Where a postcode is, to the district. Kiln ships the fictional Kilnford districts; a council
 * points this at its gazetteer or the ONS postcode directory (ONSPD) for full postcodes.
 */
const districtCentroids: Record<string, Point> = {
  KF1: { lat: 52.95, lng: -2.15 },
  KF2: { lat: 52.944, lng: -2.163 },
  KF3: { lat: 52.962, lng: -2.131 },
  KF4: { lat: 52.934, lng: -2.122 },
};

const POSTCODE = /^([A-Z]{1,2}\d[A-Z\d]?)\s*(\d[A-Z]{2})?$/;

export function normalisePostcode(value: string): string | null {
  const compact = value.toUpperCase().replace(/\s+/g, '');
  const m = compact.match(/^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})?$/);
  if (!m) return null;
  return m[2] ? `${m[1]} ${m[2]}` : m[1]!;
}

/** The point of a postcode (or of its district), or null when it is not one Kiln knows. */
export function locatePostcode(value: string): Point | null {
  const postcode = normalisePostcode(value);
  if (!postcode) return null;
  const district = postcode.match(POSTCODE)?.[1];
  return (district && districtCentroids[district]) || null;
}

/** Metres between two points; an equirectangular approximation, exact enough within a county. */
export function distanceMetres(a: Point, b: Point): number {
  const rad = Math.PI / 180;
  const x = (b.lng - a.lng) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.sqrt(x * x + y * y) * 6_371_000;
}

export interface DirectorySearch {
  text?: string;
  termIds?: string[];
  age?: number;
  near?: Point;
  /** Only with `near`: leave out services with no location within this many metres. */
  withinMetres?: number;
  includeInactive?: boolean;
  organisationId?: string;
}

export interface ServiceInput {
  organisationName: string;
  name: string;
  description: string;
  url: string | null;
  email: string | null;
  phone: string | null;
  status: 'active' | 'inactive';
  feesDescription: string | null;
  eligibilityDescription: string | null;
  minimumAge: number | null;
  maximumAge: number | null;
  termIds: string[];
  location: {
    name: string;
    address1: string;
    city: string;
    postcode: string;
    lat: number;
    lng: number;
  } | null;
}

export type DirectoryService = Awaited<ReturnType<ReturnType<typeof createDirectory>['search']>>[number];

/** The information and advice directory, held in the Open Referral UK data model. */
export function createDirectory(platform: Platform) {
  const { db } = platform;

  async function expand(rows: Awaited<ReturnType<typeof store.searchServices>>, near?: Point) {
    const ids = rows.map((r) => r.id);
    const [terms, locations] = await Promise.all([store.taxonomiesOf(db, ids), store.locationsOf(db, ids)]);
    return rows.map((service) => {
      const own = locations.filter((l) => l.service_id === service.id);
      const distances = near
        ? own.map((l) => distanceMetres(near, { lat: l.latitude, lng: l.longitude }))
        : [];
      return {
        ...service,
        taxonomy: terms.filter((tt) => tt.service_id === service.id),
        locations: own,
        distanceMetres: distances.length ? Math.min(...distances) : null,
      };
    });
  }

  return {
    /** Services that meet a need, for an age, nearest first when a place is given. */
    async search(filter: DirectorySearch) {
      const rows = await store.searchServices(db, {
        text: filter.text,
        termIds: filter.termIds,
        age: filter.age,
        organisationId: filter.organisationId,
        status: filter.includeInactive ? undefined : 'active',
      });
      let services = await expand(rows, filter.near);
      if (filter.near) {
        if (filter.withinMetres !== undefined) {
          const limit = filter.withinMetres;
          // Services with no premises (phone lines, websites) serve everyone wherever they are.
          services = services.filter((s) => s.distanceMetres === null || s.distanceMetres <= limit);
        }
        services.sort(
          (a, b) =>
            (a.distanceMetres ?? Number.MAX_SAFE_INTEGER) - (b.distanceMetres ?? Number.MAX_SAFE_INTEGER) ||
            a.name.localeCompare(b.name),
        );
      }
      return services;
    },

    async service(id: string) {
      if (!isUuid(id)) return undefined;
      const row = await store.findService(db, id);
      if (!row) return undefined;
      return (await expand([row]))[0];
    },

    terms: () => store.listTaxonomyTerms(db),
    organisations: (filter: Parameters<typeof store.listOrganisations>[1]) =>
      store.listOrganisations(db, filter),
    organisation: (id: string) => (isUuid(id) ? store.findOrganisation(db, id) : Promise.resolve(undefined)),

    /** Adds or changes a directory entry; staff only, audited. */
    async save(actor: Actor, id: string | null, input: ServiceInput): Promise<string> {
      return db.transaction().execute(async (tx) => {
        const organisation =
          (await store.findOrganisationByName(tx, input.organisationName)) ??
          (await store.insertOrganisation(tx, { name: input.organisationName.trim(), kind: 'voluntary' }));
        const fields = {
          organisation_id: organisation.id,
          name: input.name,
          description: input.description,
          url: input.url,
          email: input.email,
          phone: input.phone,
          status: input.status,
          fees_description: input.feesDescription,
          eligibility_description: input.eligibilityDescription,
          minimum_age: input.minimumAge,
          maximum_age: input.maximumAge,
        };
        let serviceId = id;
        if (serviceId) await store.updateService(tx, serviceId, fields);
        else serviceId = (await store.insertService(tx, fields)).id;
        await store.setServiceTaxonomies(tx, serviceId, input.termIds);
        if (input.location) {
          const location = await store.insertLocation(tx, {
            organisation_id: organisation.id,
            name: input.location.name,
            address_1: input.location.address1,
            city: input.location.city,
            postcode: input.location.postcode,
            latitude: input.location.lat,
            longitude: input.location.lng,
          });
          await store.replaceServiceLocation(tx, serviceId, location.id);
        }
        await recordAudit(tx, {
          actor,
          action: id ? 'care.directory_service_updated' : 'care.directory_service_added',
          subjectType: 'care_service',
          subjectId: serviceId,
          detail: { name: input.name, status: input.status },
        });
        return serviceId;
      });
    },

    /** Demo and start-up content: terms, organisations, services, locations. */
    async seed(
      tx: Db,
      terms: Array<{ id: string; term: string; description: string }>,
      services: Array<ServiceInput>,
    ) {
      await store.upsertTaxonomyTerms(
        tx,
        terms.map((term) => ({ ...term, vocabulary: 'kiln-needs' })),
      );
      for (const s of services) {
        const organisation =
          (await store.findOrganisationByName(tx, s.organisationName)) ??
          (await store.insertOrganisation(tx, { name: s.organisationName, kind: 'voluntary' }));
        const row = await store.insertService(tx, {
          organisation_id: organisation.id,
          name: s.name,
          description: s.description,
          url: s.url,
          email: s.email,
          phone: s.phone,
          status: s.status,
          fees_description: s.feesDescription,
          eligibility_description: s.eligibilityDescription,
          minimum_age: s.minimumAge,
          maximum_age: s.maximumAge,
        });
        await store.setServiceTaxonomies(tx, row.id, s.termIds);
        if (s.location) {
          const location = await store.insertLocation(tx, {
            organisation_id: organisation.id,
            name: s.location.name,
            address_1: s.location.address1,
            city: s.location.city,
            postcode: s.location.postcode,
            latitude: s.location.lat,
            longitude: s.location.lng,
          });
          await store.replaceServiceLocation(tx, row.id, location.id);
        }
      }
    },
  };
}

export type Directory = ReturnType<typeof createDirectory>;

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
