import type { VendorType } from '../../specs/index.ts';
import type { DriverTable } from '../contracts/driver.ts';
import type { ErrorTable } from '../errors/types.ts';
import { answerHub } from './answerhub/index.ts';
import { apiProxy } from './apiproxy/index.ts';
import { definitionErrors, type DriverDefinition } from './define.ts';
import { elasticPath } from './elasticpath/index.ts';
import { maestroQa } from './maestroqa/index.ts';
import { mailchimp } from './mailchimp/index.ts';
import { qualifio } from './qualifio/index.ts';

/**
 * Every driver, by the `type` a VendorConnection names: adding a vendor = its folder + one
 * line here (docs/adding-a-vendor.md). The mapped type makes a missing line a type error.
 */
const DEFINITIONS: { readonly [K in VendorType]: DriverDefinition<K> } = {
  maestroqa: maestroQa,
  qualifio: qualifio,
  elasticpath: elasticPath,
  answerhub: answerHub,
  apiproxy: apiProxy,
  mailchimp: mailchimp,
};

/** Fresh drivers for one controller: no driver state is shared with another table. */
export function createDriverTable(): DriverTable {
  const table = {} as DriverTable;
  for (const type of Object.keys(DEFINITIONS) as VendorType[]) table[type] = DEFINITIONS[type].create();
  return table;
}

/** The drivers' own error codes (and the registry's), for the catalogue. */
export function driverErrors(): ErrorTable {
  return Object.assign(
    {},
    definitionErrors.table,
    ...Object.values(createDriverTable()).map((d) => d.errors),
  ) as ErrorTable;
}
