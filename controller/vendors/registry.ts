import type { Action, VendorSpec, VendorType } from '../../specs/index.ts';
import type { ErrorTable } from '../errors/types.ts';
import { answerHubDriver } from './answerhub/index.ts';
import { apiProxyDriver } from './apiproxy/index.ts';
import type { Driver } from '../contracts/driver.ts';
import { elasticPathDriver } from './elasticpath/index.ts';
import { maestroQaDriver } from './maestroqa/index.ts';
import { qualifioDriver } from './qualifio/index.ts';

/** Every driver, by the `type` a VendorConnection names. Adding a vendor = one file + one line here. */
export const DRIVERS: { [K in VendorType]: Driver<K> } = {
  maestroqa: maestroQaDriver,
  qualifio: qualifioDriver,
  elasticpath: elasticPathDriver,
  answerhub: answerHubDriver,
  apiproxy: apiProxyDriver,
};

export function driverFor<T extends VendorType>(type: T): Driver<T> {
  return DRIVERS[type];
}

export function supportedActions(spec: VendorSpec): Action[] {
  return [...(DRIVERS[spec.type].supportedActions as (s: VendorSpec) => readonly Action[])(spec)];
}

export function identifierKeys(type: VendorType): string[] {
  return [...DRIVERS[type].identifierKeys];
}

/** The drivers' own error codes, for the catalogue. */
export function driverErrors(): ErrorTable {
  return Object.assign({}, ...Object.values(DRIVERS).map((d) => d.errors)) as ErrorTable;
}
