import type { VendorType } from '../../specs/index.ts';
import type { Driver } from '../contracts/driver.ts';
import { defineErrors } from '../errors/types.ts';

/** Errors of the registry itself: a driver that contradicts its own definition. */
export const definitionErrors = defineErrors({
  DRIVER_DEFINITION_INVALID: {
    message: 'the driver registered for "{type}" is inconsistent: {problem}',
    hint: "A driver bug caught when the controller starts, before any vendor is called: fix the driver's definition (see docs/adding-a-vendor.md).",
    terminal: true,
  },
});

/**
 * A vendor as the registry knows it. `create` runs once per controller (`createDriverTable`):
 * whatever a driver keeps between calls (bearer tokens, status answers shared by a batch)
 * lives in the object it returns, so two controllers in one process, or one test after
 * another, never see each other's state. A driver that keeps nothing returns a constant.
 */
export interface DriverDefinition<T extends VendorType = VendorType> {
  type: T;
  create(): Driver<T>;
}

export function defineDriver<T extends VendorType>(type: T, create: () => Driver<T>): DriverDefinition<T> {
  const invalid = (problem: string) => definitionErrors.error('DRIVER_DEFINITION_INVALID', { type, problem });
  return {
    type,
    create() {
      const driver = create();
      // A mismatch would hand this driver another type's connections.
      if (driver.type !== type) throw invalid(`it declares type "${driver.type}"`);
      if (driver.batch && !driver.stepBatch) throw invalid('it declares batch without stepBatch');
      if (driver.actions.length === 0) throw invalid('it declares no action');
      return driver;
    },
  };
}
